"""The real provider, through the real google-genai SDK, against the local Gemini Live
emulator: the Gemini API (an API key) and Vertex AI (authorized_user credentials that
google-auth refreshes at the emulator's token endpoint)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from rtcore.provider import ModelConfig, ProviderSession
from rtcore.provider import messages as n
from rtcore_gemini_emulator import GeminiLiveEmulator
from rtcore_gemini_live.provider import GeminiProvider

GEMINI = "gemini-3.8-live"
VERTEX = "gemini-live-2.5-flash-native-audio"
API_KEY = "emulator-api-key"
FAST = {
    "backoff_initial_seconds": 0.02,
    "close_timeout_seconds": 1.0,
    "throttle_backoff_initial_seconds": 0.02,
    "throttle_backoff_max_seconds": 0.05,
}

WEATHER = n.ToolDef(
    name="get_weather",
    description="Get current weather for a location",
    parameters={
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
)


@pytest.fixture(scope="session")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gemini-provider-certs")


@pytest.fixture
async def emulator(cert_dir: Path) -> AsyncIterator[GeminiLiveEmulator]:
    async with GeminiLiveEmulator(cert_dir=cert_dir, realtime_factor=0.0) as emu:
        yield emu


def gemini_params(emu: GeminiLiveEmulator, **extra: object) -> dict[str, object]:
    return {
        "api_key": API_KEY,
        "api_base": emu.base_url,
        "ssl_ca_file": str(emu.ca_file),
        **FAST,
        **extra,
    }


def vertex_params(emu: GeminiLiveEmulator, **extra: object) -> dict[str, object]:
    return {
        "vertex_project": "emulator-project",
        "vertex_location": "us-central1",
        "vertex_credentials": json.dumps(emu.authorized_user_info()),
        "api_base": emu.base_url,
        "ssl_ca_file": str(emu.ca_file),
        **FAST,
        **extra,
    }


@pytest.fixture
async def make_provider(
    emulator: GeminiLiveEmulator,
) -> AsyncIterator[Callable[..., GeminiProvider]]:
    made: list[GeminiProvider] = []

    def make(backend: str = "gemini", model: str | None = None, **params: Any) -> GeminiProvider:
        if backend == "gemini":
            config = ModelConfig(
                name="gemini",
                provider="gemini-live",
                model=model or GEMINI,
                params=gemini_params(emulator, **params),
            )
        else:
            config = ModelConfig(
                name="vertex",
                provider="vertex-ai-live",
                model=model or VERTEX,
                params=vertex_params(emulator, **params),
            )
        provider = GeminiProvider(config, "gemini" if backend == "gemini" else "vertex")
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
async def opened(provider: GeminiProvider, **fields: Any) -> AsyncIterator[ProviderSession]:
    session = await provider.open_session(n.SessionConfig(model="gemini", **fields))
    try:
        yield session
    finally:
        await session.aclose()
