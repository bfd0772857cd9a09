"""The OpenAI Realtime emulator driven by the real openai SDK (never a mock)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from openai import AsyncAzureOpenAI, AsyncOpenAI

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
