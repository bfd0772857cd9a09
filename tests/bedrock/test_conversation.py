"""A whole conversation through the provider, on both models, against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from rtcore.provider import messages as n
from rtcore_sonic_emulator import NovaSonicEmulator, silence_pcm, utterance_pcm
from tests.audio.audio_signals import pcm, sine
from tests.bedrock.conftest import V1, V2, V2_5, WEATHER


def transcript_of(driver: Any) -> str:
    return "".join(e.text for e in driver.of(n.TranscriptDelta))


@pytest.mark.parametrize("model", [V1, V2, V2_5, "us.amazon.nova-2-sonic-v1:0"])
async def test_spoken_turn(open_driver: Any, model: str) -> None:
    driver = await open_driver(model)
    await driver.audio(utterance_pcm(0))
    done = await driver.wait_done(1)
    assert done[0].status == "completed"
    assert done[0].usage.input_audio_tokens > 0
    assert done[0].usage.output_audio_tokens > 0
    kinds = [type(e).__name__ for e in driver.events]
    assert kinds[:4] == ["SpeechStarted", "SpeechStopped", "InputTranscript", "ResponseStarted"]
    assert driver.of(n.InputTranscript)[0].text == "Hello."
    assert driver.of(n.AudioDelta)
    assert transcript_of(driver) == "You said: Hello."


@pytest.mark.parametrize("model", [V1, V2, V2_5])
async def test_text_turn_text_only(open_driver: Any, model: str) -> None:
    config = n.SessionConfig(model=model, output_modalities=("text",), instructions="Be helpful.")
    driver = await open_driver(model, config)
    await driver.send(
        n.AddItem(item=n.Message(id="i1", role="user", text="Hello!")),
        n.CreateResponse(response_id="r1"),
    )
    done = await driver.wait_done(1)
    assert done[0].status == "completed"
    # v1 too answers the typed text itself (its spoken nudge only says "answer it")
    assert "".join(e.text for e in driver.of(n.TextDelta)) == "You said: Hello!"
    # text-only: no audio, no ResponseStarted (the core created the response), and the
    # v1 nudge's own transcript never shows up as a user turn
    assert not driver.of(n.AudioDelta)
    assert not driver.of(n.ResponseStarted)
    assert not driver.of(n.InputTranscript)
    assert not driver.of(n.SpeechStarted)


async def test_unknown_voice_is_refused_with_the_real_list(make_provider: Any) -> None:
    from rtcore.provider import ProviderUnavailable

    provider = make_provider(V1)
    with pytest.raises(ProviderUnavailable) as info:
        await provider.open_session(n.SessionConfig(model=V1, voice="joanna"))
    assert "tiffany" in info.value.message
    assert "matthew" in info.value.message
    assert "tina" not in info.value.message  # a Nova 2 voice
    assert "greta" not in make_provider(V2).capabilities.voices


@pytest.mark.parametrize("model", [V1, V2])
async def test_multi_turn_audio_with_tool_call_and_barge_in(
    emulator: NovaSonicEmulator, open_driver: Any, model: str
) -> None:
    emulator.realtime_factor = 0.2  # slow enough that speech can land mid-reply
    config = n.SessionConfig(model=model, tools=(WEATHER,), output_modalities=("text", "audio"))
    driver = await open_driver(model, config)
    # turn 1: a question that needs the tool
    await driver.audio(utterance_pcm(1))
    await driver.wait(lambda: bool(driver.of(n.ToolCall)))
    call = driver.of(n.ToolCall)[0]
    assert call.name == "get_weather"
    assert '"location"' in call.arguments
    done = await driver.wait_done(1)
    assert done[0].status == "completed"
    await driver.send(
        n.AddItem(item=n.FunctionCallOutput(id="o1", call_id=call.call_id, output='{"temp": 21}')),
        n.CreateResponse(response_id="r2"),
    )
    await driver.wait_done(2)
    assert '{"temp": 21}' in transcript_of(driver)
    # turn 2: a long story, interrupted by the user speaking over it
    await driver.audio(utterance_pcm(2))
    await driver.wait(
        lambda: len(driver.of(n.ResponseStarted)) >= 2 and bool(driver.of(n.AudioDelta))
    )
    await driver.audio(utterance_pcm(5))
    dones = await driver.wait_done(4, within=20)
    assert dones[2].status == "cancelled"
    assert dones[2].reason == "turn_detected"
    assert dones[3].status == "completed"
    assert driver.of(n.InputTranscript)[-1].text == "Stop."
    # Speech over the reply is announced once, whoever saw it first (Nova 2's signal,
    # rtcore's measure on v1), and it is the item Nova then transcribes.
    assert len(driver.of(n.SpeechStarted)) == len(driver.of(n.InputTranscript)) == 3
    assert driver.of(n.SpeechStarted)[-1].item_id == driver.of(n.InputTranscript)[-1].item_id
    assert all(
        "interrupted" not in e.text for e in driver.of(n.TranscriptDelta) + driver.of(n.TextDelta)
    )


async def test_cancel_and_manual_commit(open_driver: Any, emulator: NovaSonicEmulator) -> None:
    emulator.realtime_factor = 0.3
    driver = await open_driver(V2)
    await driver.audio(utterance_pcm(2, trail_silence=0.1))
    await driver.send(n.CommitAudio(item_id="item_1"))
    await driver.wait(lambda: bool(driver.of(n.AudioDelta)))
    assert [e.item_id for e in driver.of(n.InputTranscript)] == ["item_1"]
    started = driver.of(n.ResponseStarted)[0]
    await driver.send(n.CancelResponse(response_id="resp_unknown"))  # a no-op by contract
    await driver.send(n.CancelResponse(response_id=started.response_id))
    dones = await driver.wait_done(1)
    assert dones[0].response_id == started.response_id
    assert dones[0].reason == "client_cancelled"
    await driver.send(n.ClearAudio())
    await driver.audio(utterance_pcm(3))
    await driver.wait(lambda: driver.of(n.InputTranscript)[-1].text == "Thank you, goodbye.")
    await driver.wait_done(2)


async def test_history_and_reconfigure_restart(
    emulator: NovaSonicEmulator, open_driver: Any
) -> None:
    driver = await open_driver(V2)
    await driver.send(
        n.AddItem(item=n.Message(id="a", role="assistant", text="Hi, how can I help?")),
        n.AddItem(item=n.Message(id="b", role="user", text="x" * 5000)),
    )
    await driver.audio(utterance_pcm(0))
    await driver.wait_done(1)
    opened = emulator.stats.opened
    config = n.SessionConfig(model=V2, voice="tiffany", instructions="Speak French.")
    await driver.send(n.Configure(config=config, changed=frozenset({"voice", "instructions"})))
    await driver.audio(silence_pcm(0.3) + utterance_pcm(3))
    await driver.wait_done(2)
    assert emulator.stats.opened == opened + 1  # a fresh stream with the new voice
    assert not driver.of(n.ProviderError)


async def test_clean_shutdown_is_prompt(open_driver: Any) -> None:
    import time

    driver = await open_driver(V1)
    await driver.audio(utterance_pcm(0))
    await driver.wait_done(1)
    started = time.monotonic()
    await driver.aclose()
    assert time.monotonic() - started < 2
    assert driver.ended


@pytest.mark.parametrize("model", [V1, V2])
async def test_speech_start_is_announced_before_the_turn_ends(open_driver: Any, model: str) -> None:
    # A client stops playback on speech_started: it must not wait for Nova's end-of-turn
    # pause. Nova 2 says userSpeechStart as soon as it hears speech; v1 says nothing until
    # its transcript, so the session announces the speech from its own measure of the audio.
    driver = await open_driver(model)
    await driver.audio(utterance_pcm(0, trail_silence=0.0))  # the user is still "speaking"
    await driver.wait(lambda: bool(driver.of(n.SpeechStarted)), within=3.0)
    assert not driver.of(n.SpeechStopped)
    assert not driver.of(n.InputTranscript)
    # The tone starts after 100 ms of silence: the onset is measured, not guessed.
    assert driver.of(n.SpeechStarted)[0].audio_start_ms == pytest.approx(100, abs=20)
    await driver.audio(silence_pcm(2.0))
    await driver.wait_done(1)
    started, stopped = driver.of(n.SpeechStarted), driver.of(n.SpeechStopped)
    assert len(started) == 1  # announced once, not again at the transcript
    assert started[0].item_id == stopped[0].item_id == driver.of(n.InputTranscript)[0].item_id
    assert driver.of(n.InputTranscript)[0].text == "Hello."


async def test_v1_noise_announced_from_the_audio_closes_empty_when_nova_ignores_it(
    open_driver: Any,
) -> None:
    # 120 ms of sound: speech to rtcore's measure (100 ms), too short for a turn to Nova's
    # (150 ms). After long enough quiet the turn closes empty, as a VAD's false start.
    driver = await open_driver(V1)
    click = pcm(sine(440, 16000, 0.12))
    await driver.audio(silence_pcm(0.2) + click)
    await driver.wait(lambda: bool(driver.of(n.SpeechStarted)), within=3.0)
    await driver.audio(silence_pcm(5.5))
    await driver.wait(lambda: bool(driver.of(n.InputTranscript)), within=5.0)
    (started,) = driver.of(n.SpeechStarted)
    (stopped,) = driver.of(n.SpeechStopped)
    (heard,) = driver.of(n.InputTranscript)
    assert started.item_id == stopped.item_id == heard.item_id
    assert heard.text == ""
    assert not driver.of(n.ResponseStarted)


async def test_a_conversation_given_at_once_is_history_and_only_its_new_turn_is_asked(
    emulator: NovaSonicEmulator, open_driver: Any
) -> None:
    # What a session brings when it moves here from another deployment: turns answered
    # there are history; only the text after the last answer is the turn to answer.
    driver = await open_driver(V2)
    await driver.send(
        n.AddItem(item=n.Message(id="u1", role="user", text="Hello.")),
        n.AddItem(
            item=n.Message(id="a1", role="assistant", text="You said: Hello."),
            previous_item_id="u1",
        ),
        n.AddItem(
            item=n.Message(id="u2", role="user", text="What time is it in Tokyo?"),
            previous_item_id="a1",
        ),
        n.CreateResponse(response_id="resp_1"),
    )
    done = await driver.wait_done(1)
    assert done[0].status == "completed"
    assert emulator.stats.streams[-1].texts == [
        ("USER", False, "Hello."),
        ("ASSISTANT", False, "You said: Hello."),
        ("USER", True, "What time is it in Tokyo?"),
    ]
