"""Function calls: blocking and NON_BLOCKING, responses by id, cancellation on barge-in."""

from __future__ import annotations

import pytest
from google import genai
from google.genai import types

from rtcore_emulated_speech import utterance_pcm
from rtcore_gemini_emulator import GeminiLiveEmulator
from tests.gemini_emulator.conftest import GEMINI_MODEL, TEXT_MODEL, next_turn
from tests.gemini_emulator.test_audio import send_audio

WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "OBJECT",
        "properties": {"city": {"type": "STRING"}},
        "required": ["city"],
    },
}


async def test_blocking_call_round_trip(client: genai.Client, emulator: GeminiLiveEmulator) -> None:
    config = {"response_modalities": ["TEXT"], "tools": [{"function_declarations": [WEATHER]}]}
    async with client.aio.live.connect(model=TEXT_MODEL, config=config) as session:
        await session.send_client_content(
            turns={"role": "user", "parts": [{"text": "What is the weather in Paris?"}]},
            turn_complete=True,
        )
        call_turn = await next_turn(session, until_tool_call=True)
        (call,) = call_turn.tool_calls
        assert call.name == "get_weather"
        assert call.args == {"city": "Paris"}
        assert call.id
        assert not any(
            m.server_content and m.server_content.turn_complete for m in call_turn.messages
        )
        await session.send_tool_response(
            function_responses=[
                types.FunctionResponse(id=call.id, name=call.name, response={"output": "sunny"})
            ]
        )
        turn = await next_turn(session)
    assert turn.text == "The get_weather tool returned sunny"
    assert emulator.stats.tool_calls[0].id == call.id
    (received,) = emulator.stats.tool_responses
    assert (received.connection, received.id, received.response) == (
        1,
        call.id,
        {"output": "sunny"},
    )


async def test_a_response_with_an_unknown_id_closes_1007(
    client: genai.Client, emulator: GeminiLiveEmulator
) -> None:
    config = {"response_modalities": ["TEXT"], "tools": [{"function_declarations": [WEATHER]}]}
    async with client.aio.live.connect(model=TEXT_MODEL, config=config) as session:
        await session.send_tool_response(
            function_responses=[
                types.FunctionResponse(id="function-call-1", name="get_weather", response={})
            ]
        )
        with pytest.raises(genai.errors.APIError, match="invalid argument") as caught:
            await next_turn(session)
    assert caught.value.code == 1007


async def test_non_blocking_call_on_38(client: genai.Client, emulator: GeminiLiveEmulator) -> None:
    config = {
        "output_audio_transcription": {},
        "tools": [{"function_declarations": [WEATHER]}],
        "session_resumption": {},
    }
    async with client.aio.live.connect(model=GEMINI_MODEL, config=config) as session:
        await session.send_client_content(
            turns={"role": "user", "parts": [{"text": "Weather in Rome please"}]},
            turn_complete=True,
        )
        # NON_BLOCKING by default on 3.8: the turn ends without waiting for the result.
        first = await next_turn(session)
        (call,) = first.tool_calls
        assert call.args == {"city": "Rome"}
        assert first.messages[-1].server_content.turn_complete
        await session.send_tool_response(
            function_responses=[
                types.FunctionResponse(
                    id=call.id,
                    name=call.name,
                    response={"output": "rain"},
                    scheduling=types.FunctionResponseScheduling.WHEN_IDLE,
                )
            ]
        )
        second = await next_turn(session)
    assert second.output_transcript == "The get_weather tool returned rain"
    # Not resumable while the call ran.
    updates = [m.session_resumption_update for m in first.messages if m.session_resumption_update]
    assert updates[-1].resumable is False


async def test_barge_in_cancels_a_pending_blocking_call(
    client: genai.Client, emulator: GeminiLiveEmulator
) -> None:
    blocking = {**WEATHER, "behavior": "BLOCKING"}
    emulator.script.utterances[7] = "What is the weather in Oslo?"
    config = {"tools": [{"function_declarations": [blocking]}]}
    async with client.aio.live.connect(model=GEMINI_MODEL, config=config) as session:
        await send_audio(session, utterance_pcm(7))
        call_turn = await next_turn(session, until_tool_call=True)
        (call,) = call_turn.tool_calls
        await send_audio(session, utterance_pcm(0, trail_silence=0.0))
        turn = await next_turn(session)
        cancellation = await session._receive()
    contents = [m.server_content for m in turn.messages if m.server_content]
    assert contents[-2].interrupted
    assert contents[-1].turn_complete
    assert cancellation.tool_call_cancellation.ids == [call.id]
