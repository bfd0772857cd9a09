"""Driving one ``ProviderSession`` through the boundary as the core does, recording events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from rtcore.provider import ProviderSession
from rtcore.provider.messages import Command, Event, ResponseDone


class Driver:
    def __init__(self, session: ProviderSession) -> None:
        self.session = session
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._read(), name="rtcore-testing driver")

    async def _read(self) -> None:
        try:
            async for event in self.session.events():
                self.events.append(event)
                self._changed.set()
        finally:
            self._changed.set()

    @property
    def ended(self) -> bool:
        return self._task.done()

    async def send(self, *commands: Command) -> None:
        for command in commands:
            await self.session.send(command)

    async def audio(self, pcm: bytes, chunk: int = 6400) -> None:
        from rtcore.provider.messages import AppendAudio

        for i in range(0, len(pcm), chunk):
            await self.session.send(AppendAudio(pcm=pcm[i : i + chunk]))

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def for_response(self, response_id: str) -> list[Event]:
        return [e for e in self.events if getattr(e, "response_id", None) == response_id]

    def done(self, response_id: str) -> list[ResponseDone]:
        return [e for e in self.of(ResponseDone) if e.response_id == response_id]

    async def wait(self, predicate: Callable[[], bool], within: float = 15.0) -> None:
        async with asyncio.timeout(within):
            while not predicate():
                if self.ended:
                    raise AssertionError("the session's events ended while waiting")
                self._changed.clear()
                await self._changed.wait()

    async def wait_done(self, response_id: str, within: float = 15.0) -> ResponseDone:
        await self.wait(lambda: bool(self.done(response_id)), within)
        return self.done(response_id)[0]

    async def settle(self, seconds: float = 0.3) -> None:
        """Let late events arrive (to check that none that should not come does)."""
        await asyncio.sleep(seconds)

    async def aclose(self) -> None:
        await self.session.aclose()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(10):
                await self._task
