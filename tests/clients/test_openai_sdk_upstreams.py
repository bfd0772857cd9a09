"""The official ``openai`` Python SDK, unmodified, against ``rtcore serve`` on each provider
upstream (tests/clients/conftest.py), GA and beta: a text turn, a tool turn, spoken turns
(server VAD, push-to-talk), and turn control as OpenAI defines it, also on models that
answer every turn by themselves. Every raw server event is validated against the SDK's
models.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from openai import AsyncOpenAI

from rtcore_sonic_emulator import silence_pcm, utterance_pcm
from tests.clients.conftest import Upstream, validate
from tests.clients.test_openai_sdk import (
    WEATHER_TOOL,
    Conversation,
    check_usage,
    deltas,
    user_text,
)
from tests.transports.process import Served

RATE = 24000
DIALECTS = ["ga", "beta"]


@asynccontextmanager
async def connect(served: Served, upstream: Upstream, dialect: str) -> AsyncIterator[Conversation]:
    client = AsyncOpenAI(api_key="sk-test", websocket_base_url=f"ws://127.0.0.1:{served.port}/v1")
    realtime = client.beta.realtime if dialect == "beta" else client.realtime
    async with realtime.connect(model=upstream.name) as conn:
        conversation = Conversation(conn, dialect)
        await conversation.until("session.created")
        yield conversation
    await client.close()


def turn_detection(c: Conversation, td: dict[str, Any] | None) -> dict[str, Any]:
    """The session with ``td`` and input transcription on (the transcript is what these
    tests wait for; without it OpenAI's server sends no transcription events)."""
    transcription = {"model": "whisper-1"}
    if c.dialect == "ga":
        return c.session(audio={"input": {"turn_detection": td, "transcription": transcription}})
    return c.session(turn_detection=td, input_audio_transcription=transcription)


def text_only(c: Conversation, **fields: Any) -> dict[str, Any]:
    modalities = {"output_modalities" if c.dialect == "ga" else "modalities": ["text"]}
    return c.session(**modalities, **fields)


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


def check_usage_of(upstream: Upstream, done: dict[str, Any]) -> None:
    """The usage of ``response.done``: the model's token counts, or, from a vendor that
    reports none, the same fields all zero (no count made up)."""
    if upstream.token_usage:
        check_usage(done)
        return
    usage = done["response"]["usage"]
    assert (usage["total_tokens"], usage["input_tokens"], usage["output_tokens"]) == (0, 0, 0)
    assert set(usage["input_token_details"]) >= {"text_tokens", "audio_tokens", "cached_tokens"}
    assert set(usage["output_token_details"]) >= {"text_tokens", "audio_tokens"}


def audio_seconds(c: Conversation, events: list[dict[str, Any]]) -> float:
    data = b"".join(base64.b64decode(e["delta"]) for e in events if e["type"] == c.name("audio"))
    return len(data) / (RATE * 2)


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_text_turn(served_upstream: Served, upstream: Upstream, dialect: str) -> None:
    async with connect(served_upstream, upstream, dialect) as c:
        await c.conn.session.update(session=text_only(c))
        await c.until("session.updated")
        await c.conn.conversation.item.create(item=user_text("Hello there"))
        await c.conn.response.create()
        events = await c.until("response.done")
    assert deltas(events, c.name("text")) == upstream.reply("Hello there")
    assert events[-1]["response"]["status"] == "completed"
    check_usage_of(upstream, events[-1])
    assert "error" not in [e["type"] for e in c.events]


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_tool_turn(served_upstream: Served, upstream: Upstream, dialect: str) -> None:
    async with connect(served_upstream, upstream, dialect) as c:
        await c.conn.session.update(session=text_only(c, tools=[WEATHER_TOOL]))
        await c.until("session.updated")
        await c.conn.conversation.item.create(item=user_text("What's the weather in Paris?"))
        await c.conn.response.create()
        events = await c.until("response.done")
        call = next(e for e in events if e["type"] == "response.function_call_arguments.done")
        assert call["name"] == "get_weather"
        assert json.loads(call["arguments"]) == {"city": "Paris"}
        assert len(call["call_id"]) <= 32  # what OpenAI's clients accept
        outputs = events[-1]["response"]["output"]
        assert [(o["type"], o["call_id"]) for o in outputs] == [("function_call", call["call_id"])]

        output = {"type": "function_call_output", "call_id": call["call_id"]}
        await c.conn.conversation.item.create(item={**output, "output": "Sunny in Paris"})
        await c.conn.response.create()
        events = await c.until("response.done")
    assert "Sunny in Paris" in deltas(events, c.name("text"))
    assert events[-1]["response"]["status"] == "completed"
    assert "error" not in [e["type"] for e in c.events]


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_spoken_turn(served_upstream: Served, upstream: Upstream, dialect: str) -> None:
    """Server VAD, as the SDK's session defaults it: the user says utterance 1, the turn is
    detected, transcribed and answered aloud, the whole reply's audio arriving."""
    async with connect(served_upstream, upstream, dialect) as c:
        await c.conn.session.update(session=turn_detection(c, {"type": "server_vad"}))
        await c.until("session.updated")
        await speak(c, utterance_pcm(1, sample_rate=RATE))
        heard = await c.until("conversation.item.input_audio_transcription.completed")
        events = heard + await c.until("response.done")
    said = upstream.heard(1)
    assert heard[-1]["transcript"] == said
    answer = deltas(events, c.name("transcript"))
    assert answer == upstream.reply(said)
    assert audio_seconds(c, events) == pytest.approx(upstream.speech_seconds(answer), abs=0.1)
    types = [e["type"] for e in c.events]
    assert types.index("input_audio_buffer.speech_started") < types.index(
        "input_audio_buffer.committed"
    )
    assert events[-1]["response"]["status"] == "completed"
    check_usage_of(upstream, events[-1])
    assert types.count("response.created") == 1
    assert "error" not in types


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_push_to_talk(served_upstream: Served, upstream: Upstream, dialect: str) -> None:
    async with connect(served_upstream, upstream, dialect) as c:
        await c.conn.session.update(session=turn_detection(c, None))
        await c.until("session.updated")
        await speak(c, utterance_pcm(0, sample_rate=RATE)[: RATE * 2 * 8 // 10])
        await c.conn.input_audio_buffer.commit()
        committed = (await c.until("input_audio_buffer.committed"))[-1]
        heard = await c.until("conversation.item.input_audio_transcription.completed")
        assert heard[-1]["item_id"] == committed["item_id"]
        assert heard[-1]["transcript"] == upstream.heard(0)
        await c.conn.response.create()
        events = await c.until("response.done")
        assert deltas(events, c.name("transcript")) == upstream.reply(upstream.heard(0))
        assert events[-1]["response"]["status"] == "completed"
        # Nothing else comes but the upstream's rate limits, which OpenAI reports right
        # after each response.done (passed on where the vendor gives them).
        later = await quiet_for(c, 0.5)
        assert not [e for e in later if e["type"] != "rate_limits.updated"], later
    types = [e["type"] for e in c.events]
    assert types.count("response.created") == 1
    assert "input_audio_buffer.speech_started" not in types
    assert "error" not in types


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.client_sends("create_response: false", "the test's session")
async def test_create_response_false(
    served_upstream: Served, upstream: Upstream, dialect: str
) -> None:
    async with connect(served_upstream, upstream, dialect) as c:
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
        assert deltas(events, c.name("transcript")) == upstream.reply(upstream.heard(0))
    types = [e["type"] for e in c.events]
    assert types.count("response.created") == 1
    assert "input_audio_buffer.speech_started" in types
    assert "error" not in types


async def test_ga_client_whose_first_event_is_an_item(
    served_upstream: Served, upstream: Upstream
) -> None:
    async with connect(served_upstream, upstream, "ga") as c:
        await c.conn.send({"type": "conversation.item.create", "item": user_text("Hello")})
        await c.conn.send({"type": "response.create"})
        events = await c.until("response.done")
    types = [e["type"] for e in events]
    assert "conversation.item.added" in types
    assert "response.output_audio.delta" in types
    assert deltas(events, "response.output_audio_transcript.delta") == upstream.reply("Hello")
    created = c.events[0]["session"]
    assert created["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": RATE}


async def test_idle_timeout_prompts_the_user(served_upstream: Served, upstream: Upstream) -> None:
    async with connect(served_upstream, upstream, "ga") as c:
        td = {"type": "server_vad", "idle_timeout_ms": 2000}
        await c.conn.session.update(session=turn_detection(c, td))
        await c.until("session.updated")
        await c.conn.send({"type": "conversation.item.create", "item": user_text("Hello")})
        await c.conn.response.create()
        first = (await c.until("response.done"))[-1]
        played = audio_seconds(c, c.events)
        # The user says nothing: the reply plays out, then two more seconds of silence.
        await speak(c, silence_pcm(played + 2.1, RATE))
        fired = (await c.until("input_audio_buffer.timeout_triggered"))[-1]
        events = await c.until("response.done")
    assert fired["audio_end_ms"] - fired["audio_start_ms"] == pytest.approx(2000, abs=100)
    types = [e["type"] for e in events]
    assert "input_audio_buffer.committed" in types
    assert events[-1]["response"]["id"] != first["response"]["id"]
    assert events[-1]["response"]["status"] == "completed"
