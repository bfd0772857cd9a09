"""The official ``openai`` SDK, unmodified, against ``rtcore serve --provider echo``.

``client.beta.realtime.connect`` (beta: sends ``OpenAI-Beta: realtime=v1``) and
``client.realtime.connect`` (GA) both dial ``{websocket_base_url}/realtime?model=M`` with
``Authorization: Bearer KEY``. Each test completes a turn and validates every raw server
event against the SDK's pydantic model for its type.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import pytest
from openai import AsyncOpenAI

from tests.audio.audio_signals import pcm, peak_frequency, samples, sine
from tests.clients.conftest import validate
from tests.transports.process import Served

DIALECTS = ["beta", "ga"]
RATE = 24000

NAMES = {
    "beta": {
        "text": "response.text.delta",
        "audio": "response.audio.delta",
        "transcript": "response.audio_transcript.delta",
        "item": "conversation.item.created",
    },
    "ga": {
        "text": "response.output_text.delta",
        "audio": "response.output_audio.delta",
        "transcript": "response.output_audio_transcript.delta",
        "item": "conversation.item.added",
    },
}

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


class Conversation:
    """An SDK connection plus every raw server event it received, each one validated."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.events: list[dict[str, Any]] = []

    async def until(self, type_: str) -> list[dict[str, Any]]:
        """Events received up to and including the next ``type_``."""
        got: list[dict[str, Any]] = []
        async with asyncio.timeout(10):
            while not got or got[-1]["type"] != type_:
                raw = await self.conn.recv_bytes()
                event = json.loads(raw)
                validate(event, self.dialect)
                # The SDK's own parse gives the same type (what its users dispatch on).
                assert self.conn.parse_event(raw).type == event["type"]
                got.append(event)
        self.events += got
        return got

    def session(self, **fields: Any) -> dict[str, Any]:
        return {"type": "realtime", **fields} if self.dialect == "ga" else fields

    def name(self, kind: str) -> str:
        return NAMES[self.dialect][kind]


@asynccontextmanager
async def connect(served: Served, dialect: str) -> AsyncIterator[Conversation]:
    client = AsyncOpenAI(api_key="sk-test", websocket_base_url=f"ws://127.0.0.1:{served.port}/v1")
    realtime = client.beta.realtime if dialect == "beta" else client.realtime
    async with realtime.connect(model="echo") as conn:
        conversation = Conversation(conn, dialect)
        created = (await conversation.until("session.created"))[-1]
        assert created["session"]["model"] == "echo"
        yield conversation
    await client.close()


def deltas(events: list[dict[str, Any]], type_: str) -> str:
    return "".join(e["delta"] for e in events if e["type"] == type_)


def user_text(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def check_usage(done: dict[str, Any]) -> None:
    usage = done["response"]["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
    assert set(usage["input_token_details"]) >= {"text_tokens", "audio_tokens", "cached_tokens"}
    assert set(usage["output_token_details"]) >= {"text_tokens", "audio_tokens"}


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_text_turn(served: Served, dialect: str) -> None:
    async with connect(served, dialect) as c:
        modalities = {"output_modalities" if dialect == "ga" else "modalities": ["text"]}
        await c.conn.session.update(session=c.session(**modalities))
        await c.until("session.updated")
        await c.conn.conversation.item.create(item=user_text("Hello!"))
        await c.conn.response.create()
        events = await c.until("response.done")

        assert deltas(events, c.name("text")) == "You said: Hello!"
        done = events[-1]
        assert done["response"]["status"] == "completed"
        assert done["response"]["id"].startswith("resp_")
        check_usage(done)
        items = [e["item"] for e in events if e["type"] == c.name("item")]
        assert [i["role"] for i in items] == ["user", "assistant"]
        assert all(i["id"].startswith("item_") for i in items)
        if dialect == "ga":
            done_items = [e for e in events if e["type"] == "conversation.item.done"]
            assert len(done_items) == 2
        else:
            assert "conversation.item.added" not in {e["type"] for e in events}

        # A mistake gets an error that echoes the client's event_id, and the session goes on.
        await c.conn.send(
            {"type": "conversation.item.retrieve", "item_id": "item_nope", "event_id": "evt_42"}
        )
        error = (await c.until("error"))[-1]["error"]
        assert error["event_id"] == "evt_42"
        assert error["code"] == "item_not_found"
    assert all(e["event_id"].startswith("event_") for e in c.events)


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_audio_turn(served: Served, dialect: str) -> None:
    """24 kHz PCM16 in (the SDK's default format), audio and its transcript out."""
    async with connect(served, dialect) as c:
        if dialect == "ga":
            fmt = {"type": "audio/pcm", "rate": RATE}
            session = c.session(
                output_modalities=["audio"],
                audio={
                    "input": {
                        "format": fmt,
                        "turn_detection": None,
                        "transcription": {"model": "whisper-1"},
                    },
                    "output": {"format": fmt},
                },
            )
        else:
            session = c.session(
                modalities=["audio", "text"],
                input_audio_format="pcm16",
                output_audio_format="pcm16",
                turn_detection=None,
                input_audio_transcription={"model": "whisper-1"},
            )
        await c.conn.session.update(session=session)
        await c.until("session.updated")

        speech = pcm(sine(300, RATE, 0.6))
        step = RATE // 10 * 2  # 100 ms
        for i in range(0, len(speech), step):
            await c.conn.input_audio_buffer.append(
                audio=base64.b64encode(speech[i : i + step]).decode()
            )
        await c.conn.input_audio_buffer.commit()
        heard = await c.until("conversation.item.input_audio_transcription.completed")
        # 600 ms: the SDK's "pcm16" was read as 24 kHz (16 kHz would make it 900 ms).
        assert heard[-1]["transcript"] == "(spoken 600 ms)"
        assert "input_audio_buffer.committed" in {e["type"] for e in heard}

        await c.conn.response.create()
        events = await c.until("response.done")
        transcript = deltas(events, c.name("transcript"))
        assert transcript == "You said: (spoken 600 ms)"
        audio = b"".join(
            base64.b64decode(e["delta"]) for e in events if e["type"] == c.name("audio")
        )
        # The echo model speaks 60 ms per character, a 440 Hz tone at 24 kHz.
        assert len(audio) == len(transcript) * 60 * RATE // 1000 * 2
        assert peak_frequency(samples(audio), RATE) == pytest.approx(440, abs=2)
        assert np.max(np.abs(samples(audio))) > 0.15 * 32767
        check_usage(events[-1])


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_tool_call_turn(served: Served, dialect: str) -> None:
    async with connect(served, dialect) as c:
        modalities = {"output_modalities" if dialect == "ga" else "modalities": ["text"]}
        await c.conn.session.update(session=c.session(tools=[WEATHER_TOOL], **modalities))
        await c.until("session.updated")
        await c.conn.conversation.item.create(
            item=user_text("What's the weather in San Francisco?")
        )
        await c.conn.response.create()
        events = await c.until("response.done")

        call = next(e for e in events if e["type"] == "response.function_call_arguments.done")
        assert call["name"] == "get_weather"
        assert call["call_id"].startswith("call_")
        assert json.loads(call["arguments"]) == {"city": "San Francisco"}
        (output,) = events[-1]["response"]["output"]
        assert output["type"] == "function_call"
        assert output["call_id"] == call["call_id"]

        await c.conn.conversation.item.create(
            item={"type": "function_call_output", "call_id": call["call_id"], "output": "Sunny"}
        )
        await c.conn.response.create()
        events = await c.until("response.done")
        assert deltas(events, c.name("text")) == "The tool said: Sunny"
        assert events[-1]["response"]["status"] == "completed"


async def test_ga_client_whose_first_event_is_an_item_gets_ga_names_and_rates(
    served: Served,
) -> None:
    # GA SDKs send no OpenAI-Beta header; without a session.update first, the SDK's own
    # headers are what tells rtcore this is a GA client.
    async with connect(served, "ga") as conv:
        await conv.conn.send({"type": "conversation.item.create", "item": user_text("hello")})
        await conv.conn.send({"type": "response.create"})
        events = await conv.until("response.done")
    types = [e["type"] for e in events]
    assert "conversation.item.added" in types
    assert "conversation.item.created" not in types
    assert deltas(events, "response.output_audio_transcript.delta") == "You said: hello"
    created = conv.events[0]["session"]
    assert created["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": RATE}
