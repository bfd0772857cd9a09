"""Nova 2 Sonic in full through OpenAI's protocol, against the emulator: function calls
that do not block the conversation, typed text in the middle of an audio session, the
assistant speaking first, endpointing sensitivity from turn_detection, 24 kHz audio passed
through unresampled, and Bedrock's "System instability detected" retried."""

from __future__ import annotations

from typing import Any

import pytest

from rtcore.provider import messages as n
from rtcore_sonic_emulator import NovaSonicEmulator, silence_pcm, utterance_pcm
from tests.bedrock.conftest import V2, WEATHER


def said(driver: Any, response_id: str) -> str:
    return "".join(
        e.text
        for e in driver.of(n.TranscriptDelta) + driver.of(n.TextDelta)
        if e.response_id == response_id
    )


async def test_a_function_call_does_not_block_the_conversation(open_driver: Any) -> None:
    config = n.SessionConfig(model=V2, tools=(WEATHER,))
    driver = await open_driver(V2, config)
    await driver.audio(utterance_pcm(1))  # "What is the weather like in Paris?"
    await driver.wait(lambda: bool(driver.of(n.ToolCall)))
    (call,) = driver.of(n.ToolCall)
    await driver.wait_done(1)
    # While the tool runs, the user says something else: Nova 2 answers it at once.
    await driver.audio(utterance_pcm(0))  # "Hello."
    dones = await driver.wait_done(2)
    assert said(driver, dones[1].response_id) == "You said: Hello."
    # The result, whenever it comes, is taken, and answered in the response asked for.
    await driver.send(
        n.AddItem(item=n.FunctionCallOutput(id="o1", call_id=call.call_id, output='{"t": 21}')),
        n.CreateResponse(response_id="resp_tool"),
    )
    dones = await driver.wait_done(3)
    assert dones[2].response_id == "resp_tool"
    assert said(driver, "resp_tool") == 'The get_weather tool returned {"t": 21}'


async def test_typed_text_in_the_middle_of_an_audio_session(open_driver: Any) -> None:
    driver = await open_driver(V2)
    await driver.audio(utterance_pcm(0))
    await driver.wait_done(1)
    await driver.audio(silence_pcm(0.5))  # the microphone stays open
    await driver.send(
        n.AddItem(item=n.Message(id="typed", role="user", text="Can you hear me typing?")),
        n.CreateResponse(response_id="resp_typed"),
    )
    await driver.audio(silence_pcm(0.5))
    dones = await driver.wait_done(2)
    assert dones[1].response_id == "resp_typed"
    assert said(driver, "resp_typed") == "You said: Can you hear me typing?"
    # ... and speech after it is heard as before.
    await driver.audio(utterance_pcm(3))
    dones = await driver.wait_done(3)
    assert said(driver, dones[2].response_id) == "You said: Thank you, goodbye."


async def test_the_assistant_speaks_first_with_no_trigger_audio(
    emulator: NovaSonicEmulator, open_driver: Any
) -> None:
    driver = await open_driver(V2)
    await driver.send(
        n.CreateResponse(
            response_id="resp_greet", options=n.ResponseOptions(instructions="Greet the user.")
        )
    )
    (done,) = await driver.wait_done(1)
    assert done.status == "completed"
    assert said(driver, "resp_greet")
    (stream,) = emulator.stats.streams
    # Nova 2 takes interactive text: nothing was spoken to it to make it answer.
    assert stream.input_rate == 16000
    assert stream.said("USER")[-1].endswith("(Instructions for this reply: Greet the user.)")
    assert not driver.of(n.InputTranscript)


@pytest.mark.parametrize(
    ("turn_detection", "sensitivity"),
    [
        (n.TurnDetection(type="semantic_vad", eagerness="high"), "HIGH"),
        (n.TurnDetection(type="semantic_vad", eagerness="low"), "LOW"),
        (n.TurnDetection(silence_duration_ms=400), "HIGH"),
        (n.TurnDetection(silence_duration_ms=1000), "MEDIUM"),
        (n.TurnDetection(silence_duration_ms=2000), "LOW"),
        (n.TurnDetection(), None),  # no preference: Nova 2's own default (MEDIUM)
    ],
)
async def test_endpointing_sensitivity_comes_from_turn_detection(
    emulator: NovaSonicEmulator,
    open_driver: Any,
    turn_detection: n.TurnDetection,
    sensitivity: str | None,
) -> None:
    driver = await open_driver(V2, n.SessionConfig(model=V2, turn_detection=turn_detection))
    await driver.audio(utterance_pcm(0))
    await driver.wait_done(1)
    assert emulator.stats.streams[-1].sensitivity == sensitivity


async def test_24_khz_client_audio_reaches_nova_2_unresampled(
    emulator: NovaSonicEmulator, open_driver: Any
) -> None:
    config = n.SessionConfig(model=V2, input_sample_rate=24000)
    driver = await open_driver(V2, config)
    await driver.audio(utterance_pcm(0, sample_rate=24000))
    await driver.wait_done(1)
    assert emulator.stats.streams[-1].input_rate == 24000
    assert driver.of(n.InputTranscript)[0].text == "Hello."


async def test_system_instability_is_retried_on_a_new_stream(
    emulator: NovaSonicEmulator, open_driver: Any
) -> None:
    emulator.inject("instability@1")
    driver = await open_driver(V2)
    await driver.audio(utterance_pcm(0))
    await driver.wait(lambda: len(driver.of(n.ResponseDone)) >= 1)
    await driver.audio(utterance_pcm(3))
    dones = await driver.wait_done(2, within=15)
    assert dones[0].status == "failed"  # the reply the stream broke in
    assert dones[-1].status == "completed"  # the conversation goes on, on a new stream
    assert emulator.stats.errors["ValidationException"] == 1
    assert emulator.stats.opened == 2
    assert not [e for e in driver.of(n.ProviderError) if e.fatal]
