"""The OpenAI Realtime emulator driven by the real openai SDK (never a mock)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from openai import AsyncAzureOpenAI, AsyncOpenAI
from websockets.exceptions import ConnectionClosedError

from rtcore_openai_emulator import OpenAIRealtimeEmulator

API_KEY = "test-api-key"
MODEL = "gpt-realtime"
XAI_MODEL = "grok-voice-think-fast-1.0"
WAIT = 30.0  # a safety net only: every wait ends on an event


@pytest.fixture
async def emulator() -> AsyncIterator[OpenAIRealtimeEmulator]:
    async with OpenAIRealtimeEmulator(realtime_factor=0.0) as emu:
        yield emu


def openai_client(emu: OpenAIRealtimeEmulator, api_key: str = API_KEY) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=api_key, websocket_base_url=emu.ws_base_url + "/v1")


def azure_client(emu: OpenAIRealtimeEmulator, api_key: str = API_KEY) -> AsyncOpenAI:
    """Azure's GA path through the plain client (reference §1.2)."""
    return AsyncOpenAI(
        api_key=api_key,
        base_url=emu.base_url + "/openai/v1/",
        websocket_base_url=emu.ws_base_url + "/openai/v1",
    )


def azure_preview_client(emu: OpenAIRealtimeEmulator, api_key: str = API_KEY) -> AsyncAzureOpenAI:
    return AsyncAzureOpenAI(
        api_key=api_key,
        api_version="2025-04-01-preview",
        azure_endpoint=emu.base_url,
        websocket_base_url=emu.ws_base_url + "/openai",
    )


def xai_client(emu: OpenAIRealtimeEmulator, api_key: str = API_KEY) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=api_key, websocket_base_url=emu.ws_base_url + "/xai/v1")


async def until(conn: Any, kind: str, seen: list[Any] | None = None) -> Any:
    """Events up to and including the first of type ``kind`` (collected into ``seen``)."""
    async with asyncio.timeout(WAIT):
        async for event in conn:
            if seen is not None:
                seen.append(event)
            if event.type == kind:
                return event
    raise AssertionError(f"the connection ended before {kind}")


async def text_session(conn: Any) -> None:
    await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
    await until(conn, "session.updated")


async def say_text(conn: Any, text: str) -> None:
    await conn.conversation.item.create(
        item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def types_of(events: list[Any]) -> list[str]:
    return [event.type for event in events]


async def speak(conn: Any, pcm: bytes, chunk_bytes: int = 4800) -> None:
    """Stream ``pcm`` as ``input_audio_buffer.append`` events (100 ms at 24 kHz each)."""
    for start in range(0, len(pcm), chunk_bytes):
        await conn.input_audio_buffer.append(audio=b64(pcm[start : start + chunk_bytes]))


async def until_closed(
    client: Any, model: str, script: Callable[[Any], Awaitable[None]] | None = None, **options: Any
) -> tuple[list[Any], int]:
    """Run ``script`` on a connection, then every event up to the server's close with an
    error code: the events and the code (1006 for a dropped connection)."""
    events: list[Any] = []
    try:
        async with client.realtime.connect(model=model, **options) as conn:
            if script is not None:
                await script(conn)
            async with asyncio.timeout(WAIT):
                async for event in conn:
                    events.append(event)
    except ConnectionClosedError as closed:
        return events, closed.rcvd.code if closed.rcvd is not None else 1006
    raise AssertionError("the connection ended without an error close")


async def next_event_within(conn: Any, seconds: float) -> Any:
    """The next event if one comes within ``seconds``, else None."""
    try:
        async with asyncio.timeout(seconds):
            async for event in conn:
                return event
    except TimeoutError:
        return None
    return None
