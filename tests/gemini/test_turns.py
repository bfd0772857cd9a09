"""The provider's own behaviour through the real SDK and the emulator: text and spoken
turns, push-to-talk, barge-in and interrupt_response false, usage and spend, voices."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rtcore.provider import messages as n
from rtcore.testing import Driver
from rtcore_gemini_emulator import GeminiLiveEmulator, silence_pcm, utterance_pcm
from rtcore_gemini_live.provider import GeminiProvider
from tests.gemini.conftest import opened

HELLO = "Hello."  # what the emulator hears in tone 0
WEATHER_Q = "What is the weather like in Paris?"  # tone 1
STORY = "Tell me a story about a lighthouse keeper who finds a message in a bottle."  # tone 2


def spoken(driver: Driver, response_id: str) -> str:
    return "".join(
        e.text
        for e in driver.for_response(response_id)
        if isinstance(e, n.TranscriptDelta | n.TextDelta)
    )


def ask(item_id: str, text: str) -> n.AddItem:
    return n.AddItem(item=n.Message(id=item_id, role="user", text=text))


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
async def test_a_text_turn_is_answered_in_audio_with_its_transcript_and_usage(
    make_provider: Callable[..., GeminiProvider], emulator: GeminiLiveEmulator, backend: str
) -> None:
    provider = make_provider(backend)
    async with opened(provider, instructions="Be brief.", voice="kore") as session:
        driver = Driver(session)
        await driver.send(ask("item_1", "Hi there"), n.CreateResponse(response_id="resp_1"))
        done = await driver.wait_done("resp_1")
    assert done.status == "completed"
    assert spoken(driver, "resp_1") == "You said: Hi there"
    audio = b"".join(e.pcm for e in driver.for_response("resp_1") if isinstance(e, n.AudioDelta))
    assert len(audio) > 24000
    assert done.usage.input_text_tokens > 0
    assert done.usage.output_audio_tokens > 0
    setup = emulator.stats.setups[0].setup
    # The setup is built when the connection opens, from the session's settings.
    assert "Be brief." in str(setup)
    assert "Kore" in str(setup)


async def test_a_text_only_response_is_the_transcript_and_no_audio(
    make_provider: Callable[..., GeminiProvider],
) -> None:
    async with opened(make_provider(), output_modalities=("text",)) as session:
        driver = Driver(session)
        await driver.send(ask("item_1", "Hi"), n.CreateResponse(response_id="resp_1"))
        await driver.wait_done("resp_1")
    events = driver.for_response("resp_1")
    assert not [e for e in events if isinstance(e, n.AudioDelta)]
    assert "".join(e.text for e in events if isinstance(e, n.TextDelta)) == "You said: Hi"


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
async def test_a_spoken_turn_is_announced_transcribed_and_answered(
    make_provider: Callable[..., GeminiProvider], backend: str
) -> None:
    async with opened(make_provider(backend)) as session:
        driver = Driver(session)
        await driver.audio(utterance_pcm(1) + silence_pcm(1.5))
        await driver.wait(lambda: bool(driver.of(n.ResponseStarted)))
        rid = driver.of(n.ResponseStarted)[0].response_id
        done = await driver.wait_done(rid)
        await driver.wait(lambda: any(e.final for e in driver.of(n.InputTranscript)))
    started, stopped = driver.of(n.SpeechStarted), driver.of(n.SpeechStopped)
    assert len(started) == 1
    assert len(stopped) == 1
    item = started[0].item_id
    assert stopped[0].item_id == item
    heard = "".join(e.text for e in driver.of(n.InputTranscript) if e.item_id == item)
    assert heard == WEATHER_Q
    assert spoken(driver, rid) == f"You said: {WEATHER_Q}"
    # The user's turn is announced before the response that answers it.
    assert driver.events.index(stopped[0]) < driver.events.index(driver.of(n.ResponseStarted)[0])
    # Input audio is counted as audio (promptTokensDetails), never as nothing.
    assert done.usage.input_audio_tokens > 0


async def test_speech_is_announced_while_the_user_is_still_speaking(
    make_provider: Callable[..., GeminiProvider],
) -> None:
    """Gemini says nothing of the user's speech until its transcript, after its end-of-speech
    silence: the session announces it from the audio, before the user stops speaking (clients
    stop their playback on it, and take a later one for a barge-in over the answer)."""
    async with opened(make_provider()) as session:
        driver = Driver(session)
        tone_end = int(0.7 * 16000) * 2  # 0.1 s of silence, then 0.6 s of tone
        speech = utterance_pcm(1)
        await driver.audio(speech[:tone_end])
        await driver.wait(lambda: bool(driver.of(n.SpeechStarted)))
        assert not driver.of(n.SpeechStopped)
        assert not driver.of(n.InputTranscript)
        assert driver.of(n.SpeechStarted)[0].audio_start_ms == pytest.approx(100, abs=40)
        await driver.audio(speech[tone_end:])
        await driver.wait(lambda: bool(driver.of(n.ResponseStarted)))
        await driver.wait_done(driver.of(n.ResponseStarted)[0].response_id)
    (started,) = driver.of(n.SpeechStarted)
    (stopped,) = driver.of(n.SpeechStopped)
    assert stopped.item_id == started.item_id
    heard = "".join(e.text for e in driver.of(n.InputTranscript) if e.item_id == started.item_id)
    assert heard == WEATHER_Q


async def test_speech_announced_from_the_audio_that_gemini_never_takes_closes_empty(
    make_provider: Callable[..., GeminiProvider], emulator: GeminiLiveEmulator
) -> None:
    """A click long enough for the session's measure (100 ms) but too short for a turn
    (the emulator, like a server VAD, drops voice under 150 ms): announced, then, after
    quiet, closed empty rather than left open."""
    async with opened(make_provider()) as session:
        driver = Driver(session)
        click = utterance_pcm(0, seconds=0.12, lead_silence=0.1, trail_silence=0.0)
        await driver.audio(click + silence_pcm(3.0))
        await driver.wait(lambda: bool(driver.of(n.SpeechStarted)))
        assert not driver.of(n.SpeechStopped)  # not yet: Gemini may still take it
        await driver.audio(silence_pcm(3.0))
        await driver.wait(lambda: bool(driver.of(n.SpeechStopped)))
        await driver.wait(lambda: any(e.final for e in driver.of(n.InputTranscript)))
    (started,) = driver.of(n.SpeechStarted)
    (stopped,) = driver.of(n.SpeechStopped)
    assert stopped.item_id == started.item_id
    assert "".join(e.text for e in driver.of(n.InputTranscript)) == ""
    assert not driver.of(n.ResponseStarted)


async def test_push_to_talk_the_transcript_comes_before_the_client_asks(
    make_provider: Callable[..., GeminiProvider], emulator: GeminiLiveEmulator
) -> None:
    """As a real openai-SDK client does: commit, wait for the transcript, then ask."""
    async with opened(make_provider(), turn_detection=None) as session:
        driver = Driver(session)
        await driver.audio(utterance_pcm(0) + silence_pcm(0.3))
        item = n.Message(id="item_ptt", role="user", has_audio=True)
        await driver.send(n.CommitAudio(item_id="item_ptt"), n.AddItem(item=item, source="audio"))
        await driver.wait(
            lambda: any(e.final and e.item_id == "item_ptt" for e in driver.of(n.InputTranscript))
        )
        await driver.send(n.CreateResponse(response_id="resp_ptt"))
        done = await driver.wait_done("resp_ptt")
        await driver.settle(0.5)
    assert done.status == "completed"
    heard = "".join(e.text for e in driver.of(n.InputTranscript) if e.item_id == "item_ptt")
    assert heard == HELLO
    assert spoken(driver, "resp_ptt") == f"You said: {HELLO}"
    assert not driver.of(n.ResponseStarted)
    assert not driver.of(n.SpeechStarted)
    realtime = emulator.stats.setups[0].setup["realtimeInputConfig"]
    assert "disabled" in str(realtime)


async def test_create_response_false_holds_the_answer_until_asked(
    make_provider: Callable[..., GeminiProvider],
) -> None:
    td = n.TurnDetection(create_response=False)
    async with opened(make_provider(), turn_detection=td) as session:
        driver = Driver(session)
        await driver.audio(utterance_pcm(0) + silence_pcm(1.5))
        await driver.wait(lambda: any(e.final for e in driver.of(n.InputTranscript)))
        await driver.settle(0.5)
        assert not driver.of(n.ResponseStarted), "an answer nobody asked for"
        await driver.send(n.CreateResponse(response_id="resp_asked"))
        assert (await driver.wait_done("resp_asked")).status == "completed"
    assert spoken(driver, "resp_asked") == f"You said: {HELLO}"


async def test_barge_in_cancels_the_reply_and_the_new_turn_is_answered(
    make_provider: Callable[..., GeminiProvider], emulator: GeminiLiveEmulator
) -> None:
    emulator.realtime_factor = 1.0
    async with opened(make_provider()) as session:
        driver = Driver(session)
        await driver.send(ask("item_1", STORY), n.CreateResponse(response_id="resp_1"))
        await driver.wait(lambda: bool(driver.for_response("resp_1")))
        await driver.audio(utterance_pcm(0) + silence_pcm(1.5))
        done = await driver.wait_done("resp_1")
        await driver.wait(lambda: bool(driver.of(n.ResponseStarted)))
        rid = driver.of(n.ResponseStarted)[0].response_id
        await driver.wait_done(rid)
    assert (done.status, done.reason) == ("cancelled", "turn_detected")
    assert driver.of(n.SpeechStarted)
    assert spoken(driver, rid) == f"You said: {HELLO}"


async def test_interrupt_response_false_finishes_the_reply_then_answers_the_speech(
    make_provider: Callable[..., GeminiProvider], emulator: GeminiLiveEmulator
) -> None:
    emulator.realtime_factor = 1.0
    td = n.TurnDetection(interrupt_response=False)
    async with opened(make_provider(), turn_detection=td) as session:
        driver = Driver(session)
        await driver.send(ask("item_1", "Hi"), n.CreateResponse(response_id="resp_1"))
        await driver.wait(lambda: bool(driver.for_response("resp_1")))
        await driver.audio(utterance_pcm(0) + silence_pcm(1.5))
        done = await driver.wait_done("resp_1", within=20)
        await driver.wait(lambda: bool(driver.of(n.ResponseStarted)), within=20)
        rid = driver.of(n.ResponseStarted)[0].response_id
        await driver.wait_done(rid, within=20)
    assert done.status == "completed"
    assert spoken(driver, "resp_1") == "You said: Hi"
    assert spoken(driver, rid) == f"You said: {HELLO}"
    assert "NO_INTERRUPTION" in str(emulator.stats.setups[0].setup)


async def test_usage_is_charged_at_the_models_prices(
    make_provider: Callable[..., GeminiProvider],
) -> None:
    provider = make_provider()
    prices = provider.capabilities.prices
    assert prices is not None
    assert prices.output_audio == pytest.approx(12e-6)
    vertex = make_provider("vertex")
    assert vertex.capabilities.prices is not None
    assert vertex.capabilities.prices.input_text == pytest.approx(0.5e-6)


def test_voices_match_without_regard_to_case_and_unknown_ones_are_refused(
    make_provider: Callable[..., GeminiProvider],
) -> None:
    caps = make_provider().capabilities
    assert caps.normalize_voice is not None
    assert caps.normalize_voice("zephyr") == "Zephyr"
    assert len(caps.voices) == 30
    with pytest.raises(ValueError, match="Available voices"):
        caps.normalize_voice("joanna")
