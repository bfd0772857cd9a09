"""Client audio gathered into fewer, larger upstream audio events (no I/O).

Where an upstream charges a fixed CPU cost per event sent (signing, framing, encoding),
whatever the event's size, the 20 ms chunks clients send cost that fifty times a second per
session. Gathering up to ``budget_ms`` of audio per event divides that cost, at the price of
holding audio back: no audio waits longer than ``budget_ms`` (a client streaming in real
time waits at most ``budget_ms`` minus its chunk duration). The caller says which audio may
wait (``add(..., hold=False)`` sends it at once, with what was held): a hold is free only
where nothing the user hears waits on that audio. See docs/performance.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class AudioCoalescer:
    def __init__(self, budget_ms: int, bytes_per_second: int) -> None:
        self.configure(budget_ms, bytes_per_second)
        self._parts: list[bytes] = []
        self._size = 0
        # When the oldest held audio must go out (event-loop time), or None when empty.
        self.deadline: float | None = None

    def configure(self, budget_ms: int, bytes_per_second: int) -> None:
        """A new budget or audio rate (what is held stays held)."""
        self.budget = max(0, budget_ms) / 1000
        # Whole samples only, so an event never splits a 16-bit sample.
        self.limit = int(bytes_per_second * self.budget) // 2 * 2

    @property
    def held(self) -> int:
        """Bytes waiting to go out."""
        return self._size

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def add(self, pcm: bytes, now: float, *, hold: bool = True) -> bytes | None:
        """Hold ``pcm``; return the batch to send now when the budget's worth is held, or
        at once (with whatever was held before it) when ``hold`` is false: the caller
        knows that holding it could delay what the user hears."""
        if not self.enabled:
            return pcm
        if not hold:
            if not self._parts:
                return pcm
            self._parts.append(pcm)
            return self.take()
        self._parts.append(pcm)
        self._size += len(pcm)
        if self._size >= self.limit:
            return self.take()
        if self.deadline is None:
            self.deadline = now + self.budget
        return None

    def take(self) -> bytes:
        """Everything held (possibly empty), oldest first."""
        parts, self._parts = self._parts, []
        self._size = 0
        self.deadline = None
        return parts[0] if len(parts) == 1 else b"".join(parts)


async def flush_when_due(
    coalescer: AudioCoalescer, due: asyncio.Event, flush: Callable[[], Awaitable[None]]
) -> None:
    """Run beside a session: send held audio once it has waited its budget (the client
    paused). ``due`` is set when audio starts waiting."""
    loop = asyncio.get_running_loop()
    while True:
        await due.wait()
        deadline = coalescer.deadline
        if deadline is None:
            due.clear()
            continue
        delay = deadline - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
            continue
        due.clear()
        await flush()
