"""The real provider, real SDK and awscrt transport, against the local Nova Sonic emulator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from rtcore.provider import ModelConfig, ProviderSession
from rtcore.provider import messages as n
from rtcore_bedrock_sonic.provider import SonicProvider
from rtcore_sonic_emulator import NovaSonicEmulator

V1 = "amazon.nova-sonic-v1:0"
V2 = "amazon.nova-2-sonic-v1:0"
V2_5 = "amazon.nova-2-5-sonic"
LEGACY = {"use_successor": False}
FAST = {
    "usage_grace_seconds": 0.05,
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
    return tmp_path_factory.mktemp("bedrock-certs")


@pytest.fixture
async def emulator(cert_dir: Path) -> AsyncIterator[NovaSonicEmulator]:
    async with NovaSonicEmulator(cert_dir=cert_dir, realtime_factor=0.0, legacy_models=True) as emu:
        yield emu


def emulated_params(emu: NovaSonicEmulator, **extra: object) -> dict[str, object]:
    return {
        "aws_region_name": "us-east-1",
        "aws_bedrock_runtime_endpoint": emu.endpoint,
        "ssl_ca_file": str(emu.ca_file),
        "aws_access_key_id": "AKIDEMULATOR",
        "aws_secret_access_key": "emulator-secret",
        **FAST,
        **extra,
    }


@pytest.fixture
async def make_provider(
    emulator: NovaSonicEmulator,
) -> AsyncIterator[Callable[..., SonicProvider]]:
    made: list[SonicProvider] = []

    def make(model: str = V2, **params: object) -> SonicProvider:
        provider = SonicProvider(
            ModelConfig(
                name="sonic",
                provider="bedrock-sonic",
                model=model,
                params=emulated_params(emulator, **params),
                # v1 is retired: its tests are the legacy path's, v1 served as written
                # (by an emulator that still serves it, legacy_models).
                info=LEGACY,
            )
        )
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


class Driver:
    """Drives one ProviderSession through the neutral interface and records its events."""

    def __init__(self, session: ProviderSession) -> None:
        self.session = session
        self.events: list[n.Event] = []
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for event in self.session.events():
            self.events.append(event)
            self._changed.set()
        self._changed.set()

    @property
    def ended(self) -> bool:
        return self._task.done()

    async def send(self, *commands: n.Command) -> None:
        for command in commands:
            await self.session.send(command)

    async def audio(self, pcm: bytes, chunk: int = 6400) -> None:
        for i in range(0, len(pcm), chunk):
            await self.session.send(n.AppendAudio(pcm=pcm[i : i + chunk]))

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def wait_done(self, count: int, within: float = 10.0) -> list[n.ResponseDone]:
        await self.wait(lambda: len(self.of(n.ResponseDone)) >= count, within)
        return self.of(n.ResponseDone)

    async def aclose(self) -> None:
        await self.session.aclose()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(5):
                await self._task


@pytest.fixture
async def open_driver(
    make_provider: Callable[..., SonicProvider],
) -> AsyncIterator[Callable[..., Any]]:
    drivers: list[Driver] = []

    async def open_(
        model: str = V2, config: n.SessionConfig | None = None, **params: object
    ) -> Driver:
        provider = make_provider(model, **params)
        session = await provider.open_session(config or n.SessionConfig(model=model))
        driver = Driver(session)
        drivers.append(driver)
        return driver

    yield open_
    for driver in drivers:
        await driver.aclose()
