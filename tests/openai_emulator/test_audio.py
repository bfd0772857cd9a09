"""Audio turns: server VAD, transcription, manual commit, barge-in, G.711 (reference §3.3,
§3.5)."""

from __future__ import annotations

import base64
from typing import Any

from rtcore_emulated_speech import DEFAULT_UTTERANCES, utterance_pcm
from rtcore_openai_emulator import OpenAIRealtimeEmulator
from rtcore_openai_emulator.audio import AudioFormat

from .conftest import MODEL, openai_client, speak, types_of, until

TRANSCRIBED = {
    "type": "realtime",
    "audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}},
}


async def test_spoken_turn_with_transcription(emulator: OpenAIRealtimeEmulator) -> None:
    events: list[Any] = []
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await conn.session.update(session=TRANSCRIBED)
        await until(conn, "session.updated")
        await speak(conn, utterance_pcm(1, sample_rate=24000))
        await until(conn, "response.done", events)
    kinds = types_of(events)
    head = [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    assert kinds[:5] == head
    started, stopped, committed, added = events[:4]
    # The tone starts 100 ms in; speech_started counts prefix_padding_ms (300) back from it.
    assert 0 <= started.audio_start_ms <= 100
    assert 700 <= stopped.audio_end_ms <= 1000
    assert started.item_id == stopped.item_id == committed.item_id == added.item.id
    assert committed.previous_item_id is None
    assert added.item.role == "user"
    assert added.item.content[0].type == "input_audio"
    assert added.item.content[0].transcript is None
    completed = next(
        e for e in events if e.type == "conversation.item.input_audio_transcription.completed"
    )
    said = DEFAULT_UTTERANCES[1]
    assert completed.transcript == said
    deltas = [
        e.delta for e in events if e.type == "conversation.item.input_audio_transcription.delta"
    ]
    assert "".join(deltas) == said
    assert completed.usage.type == "tokens"
    # An automatic response (create_response defaults to true), spoken with its transcript.
    transcript = "".join(
        e.delta for e in events if e.type == "response.output_audio_transcript.delta"
    )
    assert transcript == f"You said: {said}"
    audio = b"".join(
        base64.b64decode(e.delta) for e in events if e.type == "response.output_audio.delta"
    )
    assert len(audio) > 24000 * 2  # more than a second of 24 kHz PCM
    done = events[-1].response
    assert done.output[0].content[0].type == "output_audio"
    assert done.output[0].content[0].transcript == transcript
    usage = done.usage
    assert usage.input_token_details.audio_tokens > 0
    assert usage.output_token_details.audio_tokens > 0
    assert [(h.slot, h.connection) for h in emulator.stats.heard] == [(1, 1)]
    assert emulator.stats.audio_bytes == len(utterance_pcm(1, sample_rate=24000))
    assert emulator.stats.updates_of(1) == [TRANSCRIBED]


async def test_semantic_vad_is_accepted(emulator: OpenAIRealtimeEmulator) -> None:
    session = {
        "type": "realtime",
        "audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "high"}}},
    }
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await conn.session.update(session=session)
        updated = await until(conn, "session.updated")
        detection = updated.session.audio.input.turn_detection
        assert (detection.type, detection.eagerness) == ("semantic_vad", "high")
        await speak(conn, utterance_pcm(3, sample_rate=24000))
        await until(conn, "input_audio_buffer.committed")
        done = await until(conn, "response.done")
    assert done.response.output[0].content[0].transcript == f"You said: {DEFAULT_UTTERANCES[3]}"


async def test_manual_commit_then_response(emulator: OpenAIRealtimeEmulator) -> None:
    session = {
        "type": "realtime",
        "output_modalities": ["text"],
        "audio": {"input": {"turn_detection": None}},
    }
    events: list[Any] = []
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await conn.session.update(session=session)
        await until(conn, "session.updated")
        await conn.input_audio_buffer.commit(event_id="evt_empty")
        empty = await until(conn, "error")
        assert empty.error.code == "input_audio_buffer_commit_empty"
        assert empty.error.event_id == "evt_empty"
        await speak(conn, utterance_pcm(4, sample_rate=24000))
        await conn.input_audio_buffer.commit()
        await until(conn, "conversation.item.done", events)
        await conn.response.create()
        await until(conn, "response.done", events)
    kinds = types_of(events)
    assert "input_audio_buffer.speech_started" not in kinds
    assert kinds[:3] == [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == f"You said: {DEFAULT_UTTERANCES[4]}"


async def test_no_response_when_create_response_is_off(
    emulator: OpenAIRealtimeEmulator,
) -> None:
    session = {
        "type": "realtime",
        "output_modalities": ["text"],
        "audio": {
            "input": {
                "turn_detection": {
                    "type": "server_vad",
                    "create_response": False,
                    "interrupt_response": False,
                }
            }
        },
    }
    events: list[Any] = []
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await conn.session.update(session=session)
        await until(conn, "session.updated")
        await speak(conn, utterance_pcm(0, sample_rate=24000))
        await until(conn, "conversation.item.done", events)
        # The next event is what the client asks for, not a response of the server's own.
        await conn.conversation.item.retrieve(item_id=events[-1].item.id)
        retrieved = await until(conn, "conversation.item.retrieved", events)
    assert "response.created" not in types_of(events)
    assert retrieved.item.role == "user"


async def test_barge_in_cancels_the_response(emulator: OpenAIRealtimeEmulator) -> None:
    emulator.realtime_factor = 1.0  # the reply is still being spoken when the user speaks
    events: list[Any] = []
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await speak(conn, utterance_pcm(2, sample_rate=24000))
        first = await until(conn, "response.output_audio.delta", events)
        await speak(conn, utterance_pcm(5, sample_rate=24000))
        await until(conn, "input_audio_buffer.speech_started", events)
        cancelled = await until(conn, "response.done", events)
        assert cancelled.response.status == "cancelled"
        assert cancelled.response.status_details.reason == "turn_detected"
        partial = cancelled.response.output[0]
        assert partial.status == "incomplete"
        heard = partial.content[0].transcript
        assert heard
        assert heard != f"You said: {DEFAULT_UTTERANCES[2]}"
        # The client tells the server how much was played: the rest of the text goes.
        await conn.conversation.item.truncate(
            item_id=first.item_id, content_index=0, audio_end_ms=50
        )
        truncated = await until(conn, "conversation.item.truncated")
        assert truncated.audio_end_ms == 50
        await conn.conversation.item.retrieve(item_id=first.item_id)
        item = (await until(conn, "conversation.item.retrieved")).item
        assert item.content[0].transcript == "You "
        emulator.realtime_factor = 0.0
        answer = await until(conn, "response.done")
    assert answer.response.output[0].content[0].transcript == f"You said: {DEFAULT_UTTERANCES[5]}"


async def test_g711_in_and_out(emulator: OpenAIRealtimeEmulator) -> None:
    ulaw = AudioFormat("audio/pcmu")
    session = {
        "type": "realtime",
        "audio": {
            "input": {"format": {"type": "audio/pcmu"}},
            "output": {"format": {"type": "audio/pcma"}},
        },
    }
    events: list[Any] = []
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await conn.session.update(session=session)
        updated = await until(conn, "session.updated")
        assert updated.session.audio.input.format.type == "audio/pcmu"
        await speak(conn, ulaw.encode(utterance_pcm(1, sample_rate=8000)), chunk_bytes=800)
        await until(conn, "response.done", events)
    assert emulator.stats.heard[0].slot == 1
    audio = b"".join(
        base64.b64decode(e.delta) for e in events if e.type == "response.output_audio.delta"
    )
    seconds = len(audio) / 8000  # one byte per sample at 8 kHz
    transcript = events[-1].response.output[0].content[0].transcript
    assert transcript == f"You said: {DEFAULT_UTTERANCES[1]}"
    assert seconds > 1.0
    decoded = AudioFormat("audio/pcma").decode(audio)
    assert len(decoded) == 2 * len(audio)
    assert (
        max(
            abs(int.from_bytes(decoded[i : i + 2], "little", signed=True))
            for i in range(0, min(len(decoded), 16000), 2)
        )
        > 3000
    )
