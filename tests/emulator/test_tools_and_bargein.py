"""Tool calls and barge-in, through the real SDK."""

from __future__ import annotations

import json
from typing import Any

from rtcore_sonic_emulator import NovaSonicEmulator, utterance_pcm
from tests.emulator.conftest import V1, V2, WEATHER_TOOL
from tests.emulator.sdk_stream import SonicStream


async def test_v1_tool_call_waits_for_result_and_quotes_it(client: Any) -> None:
    session = await SonicStream.open(client, V1)
    await session.start(tools=[WEATHER_TOOL])
    await session.send_audio(utterance_pcm(1))  # "What is the weather like in Paris?"
    events, tool_end = await session.until("contentEnd", type="TOOL")
    assert tool_end["stopReason"] == "TOOL_USE"
    use = next(b for n, b in events if n == "toolUse")
    assert use["toolName"] == "get_weather"
    assert json.loads(use["content"]) == {"location": "Paris"}
    assert not any(n == "audioOutput" for n, _ in events), "no speech before the tool result"
    await session.send_tool_result(use["toolUseId"], {"forecast": "sunny, 21 C"})
    events, end = await session.until("completionEnd")
    assert end["stopReason"] == "END_TURN"
    final = [b["content"] for n, b in events if n == "textOutput"]
    assert final[-1] == 'The get_weather tool returned {"forecast": "sunny, 21 C"}'
    await session.close()


async def test_nova2_tools_run_asynchronously_while_the_conversation_goes_on(
    client: Any,
) -> None:
    # AWS Nova 2 user guide, asynchronous tool calling: the model keeps listening and
    # answering while a tool runs; several calls may be in flight; every result is taken.
    session = await SonicStream.open(client, V2)
    await session.start(tools=[WEATHER_TOOL])
    await session.send_audio(utterance_pcm(1))  # "What is the weather like in Paris?"
    events, _ = await session.until("completionEnd")  # ends without waiting for the tool
    first = next(b for n, b in events if n == "toolUse")
    await session.send_audio(utterance_pcm(1))  # asked again: a second call in flight
    events, _ = await session.until("completionEnd")
    second = next(b for n, b in events if n == "toolUse")
    assert first["toolUseId"] != second["toolUseId"]
    await session.send_audio(utterance_pcm(0))  # "Hello.", answered meanwhile
    events, _ = await session.until("completionEnd")
    said = [b["content"] for n, b in events if n == "textOutput"]
    assert said[0] == "Hello."
    assert said[-1] == "You said: Hello."
    # The results, in the order they come, each answered in a completion of its own.
    await session.send_tool_result(second["toolUseId"], {"forecast": "rain"})
    events, _ = await session.until("completionEnd")
    assert [b["content"] for n, b in events if n == "textOutput"][-1] == (
        'The get_weather tool returned {"forecast": "rain"}'
    )
    await session.send_tool_result(first["toolUseId"], {"forecast": "sun"})
    events, _ = await session.until("completionEnd")
    assert [b["content"] for n, b in events if n == "textOutput"][-1] == (
        'The get_weather tool returned {"forecast": "sun"}'
    )
    await session.close()


async def test_tool_matched_by_description_word_and_scripted_reply(
    emulator: NovaSonicEmulator, client: Any
) -> None:
    emulator.script.say(9, "Is it going to rain in Oslo tomorrow?")
    emulator.script.tool_replies["forecast"] = "Oslo: {result}"
    tool = {
        "toolSpec": {
            "name": "forecast",
            "description": "Tells whether it will rain",
            "inputSchema": {
                "json": json.dumps(
                    {
                        "type": "object",
                        "properties": {
                            "city": {"type": "string"},
                            "days": {"type": "integer", "default": 1},
                            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                        },
                    }
                )
            },
        }
    }
    session = await SonicStream.open(client, V1)
    await session.start(tools=[WEATHER_TOOL, tool])
    await session.send_audio(utterance_pcm(9))
    events, _ = await session.until("toolUse")
    assert events[-1][1]["toolName"] == "forecast"
    assert json.loads(events[-1][1]["content"]) == {"city": "Oslo", "days": 1, "unit": "celsius"}
    await session.send_tool_result(events[-1][1]["toolUseId"], "rain")
    events, _ = await session.until("completionEnd")
    assert [b["content"] for n, b in events if n == "textOutput"][-1] == "Oslo: rain"
    await session.close()


async def test_barge_in_interrupts_assistant_audio(
    emulator: NovaSonicEmulator, client: Any
) -> None:
    emulator.realtime_factor = 1.0  # the assistant must still be talking when the user cuts in
    emulator.script.say(10, "Tell me everything.", reply=" ".join(["blah"] * 40))
    session = await SonicStream.open(client, V2)
    await session.start()
    await session.send_audio(utterance_pcm(10))
    await session.until("audioOutput")
    await session.send_audio(utterance_pcm(3, trail_silence=0.0))  # speech onset: barge-in
    events, end = await session.until("completionEnd")
    assert end["stopReason"] == "INTERRUPTED"
    audio_end = next(b for n, b in events if n == "contentEnd" and b["type"] == "AUDIO")
    assert audio_end["stopReason"] == "INTERRUPTED"
    final_text = [b for n, b in events if n == "textOutput"][-1]
    assert final_text["content"] == '{ "interrupted" : true }'
    text_end = [b for n, b in events if n == "contentEnd" and b["type"] == "TEXT"][-1]
    assert text_end["stopReason"] == "INTERRUPTED"
    # The interrupting speech is the next user turn, answered once it ends.
    emulator.realtime_factor = 0.0
    await session.send_audio(bytes(2 * 16000 * 2))
    events, end = await session.until("completionEnd")
    assert end["stopReason"] == "END_TURN"
    assert events[2][1]["content"] == "Thank you, goodbye."
    await session.close()


async def test_string_arguments_take_the_whole_capitalised_name(
    emulator: NovaSonicEmulator, client: Any
) -> None:
    emulator.script.say(11, "What's the weather in San Francisco?")
    session = await SonicStream.open(client, V2)
    await session.start(tools=[WEATHER_TOOL])
    await session.send_audio(utterance_pcm(11))
    events, _ = await session.until("contentEnd", type="TOOL")
    use = next(b for n, b in events if n == "toolUse")
    assert json.loads(use["content"]) == {"location": "San Francisco"}
    await session.close()


def test_name_rule() -> None:
    from rtcore_emulated_speech.tooluse import _proper_noun

    cases = {
        "What's the weather in San Francisco?": "San Francisco",
        "What is the weather like in Paris?": "Paris",
        "Weather in New York City, please. And in Rome?": "New York City",
        "Paris.": "Paris",  # a text of one capitalised word
        "Hello. Is it cold in Tokyo?": "Tokyo",
        "I think I like Rome": "Rome",  # "I" is never a name
        "San Francisco weather in Oslo": "Francisco",  # a sentence-initial run loses a word
        "What is the weather?": None,
    }
    assert {text: _proper_noun(text) for text in cases} == cases
