"""The xAI profile: its flat session shape and event differences (reference §2, §2.1)."""

from __future__ import annotations

from typing import Any

from rtcore_emulated_speech import DEFAULT_UTTERANCES, utterance_pcm
from rtcore_openai_emulator import OpenAIRealtimeEmulator

from .conftest import XAI_MODEL, openai_client, speak, types_of, until, xai_client

XAI_SESSION = {
    "instructions": "You are a helpful assistant.",
    "voice": "Ara",
    "turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 16000},
            "transcription": {"model": "grok-transcribe", "language_hint": "en"},
        },
        "output": {"format": {"type": "audio/pcm", "rate": 16000}},
    },
}


async def test_xai_opens_with_conversation_created(emulator: OpenAIRealtimeEmulator) -> None:
    events: list[Any] = []
    async with xai_client(emulator).realtime.connect(model=XAI_MODEL) as conn:
        await until(conn, "session.created", events)
    assert types_of(events) == ["conversation.created", "session.created"]
    session = events[1].session
    assert session.voice == "eve"
    assert session.turn_detection["type"] == "server_vad"
    assert not hasattr(session, "type") or session.type is None


async def test_grok_models_on_v1_are_xai(emulator: OpenAIRealtimeEmulator) -> None:
    async with openai_client(emulator).realtime.connect(model=XAI_MODEL) as conn:
        first = await until(conn, "conversation.created")
    assert first.type == "conversation.created"


async def test_xai_spoken_turn_in_its_own_shape(emulator: OpenAIRealtimeEmulator) -> None:
    events: list[Any] = []
    async with xai_client(emulator).realtime.connect(model=XAI_MODEL) as conn:
        await conn.send({"type": "session.update", "session": XAI_SESSION})
        updated = await until(conn, "session.updated")
        assert updated.session.voice == "Ara"
        await speak(conn, utterance_pcm(1, sample_rate=16000), chunk_bytes=3200)
        await until(conn, "response.done", events)
    kinds = types_of(events)
    assert "conversation.item.done" not in kinds
    assert "conversation.item.input_audio_transcription.delta" not in kinds
    updates = [
        e.transcript
        for e in events
        if e.type == "conversation.item.input_audio_transcription.updated"
    ]
    said = DEFAULT_UTTERANCES[1]
    assert updates[-1] == said
    assert all(said.startswith(u) for u in updates)  # cumulative
    assert "conversation.item.input_audio_transcription.completed" in kinds
    done = events[-1].response
    assert done.output[0].content[0].transcript == f"You said: {said}"
    assert done.usage is None  # xAI bills audio minutes (reference §4)


async def test_xai_refuses_the_ga_shape(emulator: OpenAIRealtimeEmulator) -> None:
    async with xai_client(emulator).realtime.connect(model=XAI_MODEL) as conn:
        await until(conn, "session.created")
        await conn.session.update(
            session={"type": "realtime", "audio": {"output": {"voice": "eve"}}}
        )
        error = await until(conn, "error")
    assert (error.error.code, error.error.param) == ("unknown_parameter", "session.type")


async def test_xai_json_pings() -> None:
    async with (
        OpenAIRealtimeEmulator(ping_interval=0.05) as emu,
        xai_client(emu).realtime.connect(model=XAI_MODEL) as conn,
    ):
        ping = await until(conn, "ping")
    assert ping.timestamp > 0
