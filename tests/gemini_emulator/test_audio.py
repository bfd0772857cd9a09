"""Spoken turns: the tone code the Nova Sonic emulator hears, automatic and manual activity,
barge-in, and the VAD settings."""

from __future__ import annotations

import pytest
from google import genai
from google.genai import types

from rtcore_emulated_speech import DEFAULT_UTTERANCES, silence_pcm, utterance_pcm
from rtcore_gemini_emulator import GeminiLiveEmulator
from tests.gemini_emulator.conftest import GEMINI_MODEL, next_turn

CHUNK = 3200  # 100 ms of 16 kHz PCM16


async def send_audio(session: object, pcm: bytes, rate: int = 16000) -> None:
    for offset in range(0, len(pcm), CHUNK):
        await session.send_realtime_input(  # type: ignore[attr-defined]
            audio=types.Blob(data=pcm[offset : offset + CHUNK], mime_type=f"audio/pcm;rate={rate}")
        )


async def test_tone_coded_speech_is_heard_and_transcribed(
    client: genai.Client, emulator: GeminiLiveEmulator
) -> None:
    config = {"input_audio_transcription": {}, "output_audio_transcription": {}}
    async with client.aio.live.connect(model=GEMINI_MODEL, config=config) as session:
        await send_audio(session, utterance_pcm(1))
        turn = await next_turn(session)
    said = DEFAULT_UTTERANCES[1]
    assert turn.input_transcript == said
    assert turn.output_transcript == f"You said: {said}"
    assert turn.audio
    assert emulator.stats.heard[0].slot == 1
    assert abs(emulator.stats.heard[0].seconds - 0.6) < 0.1
    assert emulator.stats.audio_bytes == len(utterance_pcm(1))
    usage = turn.usage
    modalities = {d.modality.value: d.token_count for d in usage.prompt_tokens_details or []}
    assert modalities["AUDIO"] > 0


async def test_declared_rate_is_honoured(
    client: genai.Client, emulator: GeminiLiveEmulator
) -> None:
    async with client.aio.live.connect(
        model=GEMINI_MODEL, config={"input_audio_transcription": {}}
    ) as session:
        await send_audio(session, utterance_pcm(4, sample_rate=24000), rate=24000)
        turn = await next_turn(session)
    assert turn.input_transcript == DEFAULT_UTTERANCES[4]


async def test_silence_duration_ends_turns_sooner(
    client: genai.Client, emulator: GeminiLiveEmulator
) -> None:
    short_gap = utterance_pcm(0, trail_silence=0.5)
    config = {
        "input_audio_transcription": {},
        "realtime_input_config": {"automatic_activity_detection": {"silence_duration_ms": 300}},
    }
    async with client.aio.live.connect(model=GEMINI_MODEL, config=config) as session:
        await send_audio(session, short_gap)
        turn = await next_turn(session)
    assert turn.input_transcript == DEFAULT_UTTERANCES[0]
    # With the default end-of-speech silence (1 s), 0.5 s ends nothing until audioStreamEnd.
    async with client.aio.live.connect(
        model=GEMINI_MODEL, config={"input_audio_transcription": {}}
    ) as session:
        await send_audio(session, short_gap)
        assert len(emulator.stats.heard) == 1
        await session.send_realtime_input(audio_stream_end=True)
        turn = await next_turn(session)
    assert turn.input_transcript == DEFAULT_UTTERANCES[0]


async def test_manual_activity(client: genai.Client, emulator: GeminiLiveEmulator) -> None:
    config = {
        "input_audio_transcription": {},
        "realtime_input_config": {"automatic_activity_detection": {"disabled": True}},
    }
    async with client.aio.live.connect(model=GEMINI_MODEL, config=config) as session:
        # Silence within the activity does not end the turn: only activityEnd does.
        await session.send_realtime_input(activity_start=types.ActivityStart())
        await send_audio(session, utterance_pcm(3) + silence_pcm(1.0))
        await session.send_realtime_input(activity_end=types.ActivityEnd())
        turn = await next_turn(session)
    assert turn.input_transcript == DEFAULT_UTTERANCES[3]
    assert [h.slot for h in emulator.stats.heard] == [3]


async def test_activity_signals_need_manual_detection(
    client: genai.Client, emulator: GeminiLiveEmulator
) -> None:
    async with client.aio.live.connect(model=GEMINI_MODEL) as session:
        await session.send_realtime_input(activity_start=types.ActivityStart())
        with pytest.raises(genai.errors.APIError, match="invalid argument") as caught:
            await next_turn(session)
    assert caught.value.code == 1007
    assert emulator.stats.close_codes() == [1007]


LONG_REPLY = "word " * 20  # about 6 s of speech


async def _barge_in(
    emulator: GeminiLiveEmulator, client: genai.Client, handling: str, reply: str
) -> list[types.LiveServerMessage]:
    """Speak while the model speaks: the messages of the model's turn."""
    emulator.realtime_factor = 0.5
    emulator.script.reply("Hello.", reply)
    config = {
        "output_audio_transcription": {},
        "realtime_input_config": {"activity_handling": handling},
    }
    async with client.aio.live.connect(model=GEMINI_MODEL, config=config) as session:
        await send_audio(session, utterance_pcm(0))
        messages = []
        async for message in session.receive():
            messages.append(message)
            if message.server_content and message.server_content.model_turn:
                break  # the model is speaking: speak over it
        await send_audio(session, utterance_pcm(1, trail_silence=0.0))
        async for message in session.receive():
            messages.append(message)
        return messages


async def test_barge_in_interrupts(client: genai.Client, emulator: GeminiLiveEmulator) -> None:
    messages = await _barge_in(emulator, client, "START_OF_ACTIVITY_INTERRUPTS", LONG_REPLY)
    contents = [m.server_content for m in messages if m.server_content]
    flags = [(c.interrupted, c.generation_complete, c.turn_complete) for c in contents]
    interrupted = flags.index((True, None, None))
    assert flags[interrupted + 1][2] is True  # interrupted, then turnComplete
    assert not any(f[1] for f in flags)  # no generationComplete for that turn
    spoken = "".join(c.output_transcription.text for c in contents if c.output_transcription)
    assert len(spoken) < len(LONG_REPLY)


async def test_no_interruption_lets_the_model_finish(
    client: genai.Client, emulator: GeminiLiveEmulator
) -> None:
    messages = await _barge_in(emulator, client, "NO_INTERRUPTION", "word " * 4)
    contents = [m.server_content for m in messages if m.server_content]
    assert not any(c.interrupted for c in contents)
    assert any(c.generation_complete for c in contents)
