"""Driving one ``ProviderSession`` through the boundary as the core does, recording events.

As the core does, every ``AddItem`` names the item it follows (``previous_item_id``): one
sent without it is placed after the last item the driver announced and not deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import msgspec

from rtcore.provider import ProviderSession
from rtcore.provider.messages import (
    AddItem,
    AppendAudio,
    Command,
    DeleteItem,
    Event,
    ResponseDone,
)


class Driver:
    def __init__(self, session: ProviderSession) -> None:
        self.session = session
        self.events: list[Event] = []
        # The conversation's item ids in order, as the driver announced them.
        self.items: list[str] = []
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
            await self.session.send(self._placed(command))

    def _placed(self, command: Command) -> Command:
        """The command as the core would send it: an ``AddItem`` after the last item."""
        if isinstance(command, AddItem):
            if command.previous_item_id is None and self.items:
                command = msgspec.structs.replace(command, previous_item_id=self.items[-1])
            if command.item.id in self.items:
                self.items.remove(command.item.id)
            previous = command.previous_item_id
            at = self.items.index(previous) + 1 if previous in self.items else len(self.items)
            self.items.insert(at, command.item.id)
        elif isinstance(command, DeleteItem) and command.item_id in self.items:
            self.items.remove(command.item_id)
        return command

    async def audio(self, pcm: bytes, chunk: int = 6400) -> None:
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
