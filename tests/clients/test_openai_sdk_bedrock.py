"""The official ``openai`` Python SDK, unmodified, against ``rtcore serve`` and the Bedrock
provider on the Nova Sonic emulator: turn control as OpenAI defines it, on a model that
answers every turn by itself. Every raw server event is validated against the SDK's models.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI

from rtcore_sonic_emulator import silence_pcm, utterance_pcm
from tests.clients.conftest import served_by_emulator, validate
from tests.clients.test_openai_sdk import Conversation, deltas, user_text

MODELS = ["amazon.nova-sonic-v1:0", "amazon.nova-2-sonic-v1:0"]
RATE = 24000


@asynccontextmanager
async def nova(tmp_path: Path, model_id: str, dialect: str) -> AsyncIterator[Conversation]:
    async with served_by_emulator(tmp_path, model_id) as served:
        client = AsyncOpenAI(
            api_key="sk-test", websocket_base_url=f"ws://127.0.0.1:{served.port}/v1"
        )
        realtime = client.beta.realtime if dialect == "beta" else client.realtime
        async with realtime.connect(model="nova") as conn:
            conversation = Conversation(conn, dialect)
            await conversation.until("session.created")
            yield conversation
        await client.close()
    assert "Traceback" not in served.stderr, served.stderr


def turn_detection(c: Conversation, td: dict[str, Any] | None) -> dict[str, Any]:
    """The session with ``td`` and input transcription on (the transcript is what these
    tests wait for; without it OpenAI's server sends no transcription events)."""
    transcription = {"model": "whisper-1"}
    if c.dialect == "ga":
        return c.session(audio={"input": {"turn_detection": td, "transcription": transcription}})
    return c.session(turn_detection=td, input_audio_transcription=transcription)


async def speak(c: Conversation, pcm: bytes) -> None:
    step = RATE // 10 * 2  # 100 ms, the SDK's default 24 kHz PCM16
    for i in range(0, len(pcm), step):
        await c.conn.input_audio_buffer.append(audio=base64.b64encode(pcm[i : i + step]).decode())


async def quiet_for(c: Conversation, seconds: float) -> list[dict[str, Any]]:
    """The events that arrive within ``seconds`` (each validated, and kept in the log)."""
    got: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while (left := until - loop.time()) > 0:
        try:
            raw = await asyncio.wait_for(c.conn.recv_bytes(), left)
        except TimeoutError:
            break
        event = json.loads(raw)
        validate(event, c.dialect)
        got.append(event)
    c.events += got
    return got


@pytest.mark.parametrize("dialect", ["ga", "beta"])
@pytest.mark.parametrize("model_id", MODELS)
async def test_push_to_talk(tmp_path: Path, model_id: str, dialect: str) -> None:
    async with nova(tmp_path, model_id, dialect) as c:
        await c.conn.session.update(session=turn_detection(c, None))
        await c.until("session.updated")
        await speak(c, utterance_pcm(0, sample_rate=RATE)[: RATE * 2 * 8 // 10])
        await c.conn.input_audio_buffer.commit()
        committed = (await c.until("input_audio_buffer.committed"))[-1]
        heard = await c.until("conversation.item.input_audio_transcription.completed")
        assert heard[-1]["item_id"] == committed["item_id"]
        assert heard[-1]["transcript"] == "Hello."
        await c.conn.response.create()
        events = await c.until("response.done")
        assert deltas(events, c.name("transcript")) == "You said: Hello."
        assert events[-1]["response"]["status"] == "completed"
        assert not await quiet_for(c, 0.5)  # nothing else comes
    types = [e["type"] for e in c.events]
    assert types.count("response.created") == 1
    assert "input_audio_buffer.speech_started" not in types
    assert "error" not in types


@pytest.mark.parametrize("dialect", ["ga", "beta"])
@pytest.mark.parametrize("model_id", MODELS)
async def test_create_response_false(tmp_path: Path, model_id: str, dialect: str) -> None:
    async with nova(tmp_path, model_id, dialect) as c:
        td = {"type": "server_vad", "create_response": False}
        await c.conn.session.update(session=turn_detection(c, td))
        updated = (await c.until("session.updated"))[-1]["session"]
        echoed = updated["audio"]["input"] if dialect == "ga" else updated
        assert echoed["turn_detection"]["create_response"] is False
        await speak(c, utterance_pcm(0, sample_rate=RATE) + silence_pcm(0.5, RATE))
        await c.until("conversation.item.input_audio_transcription.completed")
        assert not [e for e in await quiet_for(c, 1.0) if e["type"].startswith("response.")]
        await c.conn.response.create()
        events = await c.until("response.done")
        assert deltas(events, c.name("transcript")) == "You said: Hello."
    types = [e["type"] for e in c.events]
    assert types.count("response.created") == 1
    assert "input_audio_buffer.speech_started" in types
    assert "error" not in types


@pytest.mark.parametrize("model_id", MODELS)
async def test_ga_client_whose_first_event_is_an_item(tmp_path: Path, model_id: str) -> None:
    async with nova(tmp_path, model_id, "ga") as c:
        await c.conn.send({"type": "conversation.item.create", "item": user_text("Hello")})
        await c.conn.send({"type": "response.create"})
        events = await c.until("response.done")
    types = [e["type"] for e in events]
    assert "conversation.item.added" in types
    assert "response.output_audio.delta" in types
    assert deltas(events, "response.output_audio_transcript.delta") == "You said: Hello"
    created = c.events[0]["session"]
    assert created["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": RATE}


@pytest.mark.parametrize("model_id", MODELS)
async def test_idle_timeout_prompts_the_user(tmp_path: Path, model_id: str) -> None:
    async with nova(tmp_path, model_id, "ga") as c:
        td = {"type": "server_vad", "idle_timeout_ms": 2000}
        await c.conn.session.update(session=turn_detection(c, td))
        await c.until("session.updated")
        await c.conn.send({"type": "conversation.item.create", "item": user_text("Hello")})
        await c.conn.response.create()
        first = (await c.until("response.done"))[-1]
        played = sum(
            len(base64.b64decode(e["delta"]))
            for e in c.events
            if e["type"] == "response.output_audio.delta"
        ) / (RATE * 2)
        # The user says nothing: the reply plays out, then two more seconds of silence.
        await speak(c, silence_pcm(played + 2.1, RATE))
        fired = (await c.until("input_audio_buffer.timeout_triggered"))[-1]
        events = await c.until("response.done")
    assert fired["audio_end_ms"] - fired["audio_start_ms"] == pytest.approx(2000, abs=100)
    types = [e["type"] for e in events]
    assert "input_audio_buffer.committed" in types
    assert events[-1]["response"]["id"] != first["response"]["id"]
    assert events[-1]["response"]["status"] == "completed"
