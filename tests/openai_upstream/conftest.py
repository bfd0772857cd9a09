"""The real provider, through the real openai SDK, against the local OpenAI Realtime
emulator, on each vendor profile: OpenAI (``/v1``), Azure OpenAI (the resource endpoint,
GA ``/openai/v1``) and xAI (its own session shape)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from rtcore.provider import ModelConfig, ProviderSession
from rtcore.provider import messages as n
from rtcore_openai_emulator import OpenAIRealtimeEmulator
from rtcore_openai_realtime.provider import OpenAIRealtimeProvider

API_KEY = "emulator-api-key"
MODELS = {"openai": "gpt-realtime-2", "azure": "my-realtime", "xai": "grok-voice-think-fast-1.0"}
PROVIDER_NAMES = {"openai": "openai-realtime", "azure": "azure-realtime", "xai": "xai-realtime"}
RATES = {"openai": 24000, "azure": 24000, "xai": 24000}
FAST = {"close_timeout_seconds": 1.0}

WEATHER = n.ToolDef(
    name="get_weather",
    description="Get current weather for a location",
    parameters={
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
)


@pytest.fixture
async def emulator() -> AsyncIterator[OpenAIRealtimeEmulator]:
    async with OpenAIRealtimeEmulator(
        realtime_factor=0.0, deployments={"my-realtime": "gpt-realtime"}
    ) as emu:
        yield emu


def params_for(emu: OpenAIRealtimeEmulator, vendor: str, **extra: object) -> dict[str, object]:
    return {"api_key": API_KEY, "api_base": emu.url_for(vendor), **FAST, **extra}


@pytest.fixture
async def make_provider(
    emulator: OpenAIRealtimeEmulator,
) -> AsyncIterator[Callable[..., OpenAIRealtimeProvider]]:
    made: list[OpenAIRealtimeProvider] = []

    def make(
        vendor: str = "openai",
        model: str | None = None,
        info: dict[str, object] | None = None,
        **params: Any,
    ) -> OpenAIRealtimeProvider:
        config = ModelConfig(
            name=vendor,
            provider=PROVIDER_NAMES[vendor],
            model=model or MODELS[vendor],
            params={**params_for(emulator, vendor), **params},
            info=info or ({"base_model": "gpt-realtime"} if vendor == "azure" else {}),
        )
        provider = OpenAIRealtimeProvider(config, vendor)  # type: ignore[arg-type]
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


async def until(predicate: Callable[[], bool], within: float = 10.0) -> None:
    """Wait for what the emulator records (its stats have no event to wait on)."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - polls the emulator's record
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def opened(provider: OpenAIRealtimeProvider, **fields: Any) -> AsyncIterator[ProviderSession]:
    fields.setdefault("input_sample_rate", 24000)
    session = await provider.open_session(n.SessionConfig(model="m", **fields))
    try:
        yield session
    finally:
        await session.aclose()
