"""A provider session's outgoing events, read by exactly one task (``ProviderSession.events``).

Ending never blocks and never loses what was queued before it: the reader gets every event,
then the end (or the error the session ended with, raised in the reader rather than logged
somewhere nobody looks). Events put after the end are dropped: nobody will read them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

from rtcore.provider.messages import Event


class EventOutbox:
    """``maxsize`` bounds what ``put`` queues (0: no bound); ``put`` then waits for the
    reader, which is the backpressure a slow client exerts on the provider. ``put_nowait``
    ignores the bound: for the few closing events that must not wait."""

    def __init__(self, maxsize: int = 0) -> None:
        self._events: deque[Event] = deque()
        self._maxsize = maxsize
        self._ended = False
        self._error: BaseException | None = None
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()

    @property
    def ended(self) -> bool:
        return self._ended

    def __len__(self) -> int:
        return len(self._events)

    async def put(self, event: Event) -> None:
        while self._maxsize and len(self._events) >= self._maxsize and not self._ended:
            self._writable.clear()
            await self._writable.wait()
        self.put_nowait(event)

    def put_nowait(self, event: Event) -> None:
        if self._ended:
            return
        self._events.append(event)
        self._readable.set()

    def end(self, error: BaseException | None = None) -> None:
        """No more events; ``error`` (if any) is raised in the reader after the last one."""
        if self._ended:
            return
        self._ended = True
        self._error = error
        self._readable.set()
        self._writable.set()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        # Not an async generator: a reader cancelled while it waits (a timeout, say) must
        # not end the stream for the next read.
        while not self._events:
            if self._ended:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            self._readable.clear()
            await self._readable.wait()
        event = self._events.popleft()
        if self._maxsize and len(self._events) < self._maxsize:
            self._writable.set()
        return event
