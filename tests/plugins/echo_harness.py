"""Driving an echo session through the neutral interface, as the core does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np

from rtcore.provider import ModelConfig, ProviderSession
from rtcore.provider.messages import Command, Event, ResponseDone, SessionConfig
from rtcore_echo import EchoProvider

TIMEOUT = 5.0  # generous: a hung session fails the test instead of hanging the suite


class Harness:
    def __init__(self, session: ProviderSession) -> None:
        self.session = session
        self._events: AsyncIterator[Event] = session.events()

    async def send(self, *commands: Command) -> None:
        for command in commands:
            await self.session.send(command)

    async def next(self) -> Event:
        async with asyncio.timeout(TIMEOUT):
            return await anext(self._events)

    async def until_done(self, count: int = 1) -> list[Event]:
        """Events up to and including the ``count``-th ResponseDone."""
        out: list[Event] = []
        async with asyncio.timeout(TIMEOUT):
            while count:
                event = await anext(self._events)
                out.append(event)
                count -= isinstance(event, ResponseDone)
        return out

    async def quiet(self, seconds: float = 0.1) -> list[Event]:
        """Whatever arrives within ``seconds`` (expected: nothing)."""
        out: list[Event] = []
        try:
            async with asyncio.timeout(seconds):
                while True:
                    out.append(await anext(self._events))
        except TimeoutError:
            pass
        return out

    async def close(self) -> list[Event]:
        """Close the session and return the events it still emitted."""
        await self.session.aclose()
        return [event async for event in self._events]


async def open_echo(config: SessionConfig | None = None, **params: object) -> Harness:
    params.setdefault("chunk_delay_ms", 0)
    provider = EchoProvider(
        ModelConfig(name="echo", provider="echo", model="echo-1", params=params)
    )
    session = await provider.open_session(config or SessionConfig(model="echo-1"))
    return Harness(session)


def tone(ms: int, rate: int = 16000, freq: float = 300.0, amplitude: float = 0.3) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return (np.sin(2 * np.pi * freq * t) * amplitude * 32767).astype("<i2").tobytes()


def silence(ms: int, rate: int = 16000) -> bytes:
    return bytes(rate * ms // 1000 * 2)
