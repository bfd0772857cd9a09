"""Freeing what ended calls leave in reference cycles.

Refcounting frees a call's objects as soon as it ends (``Call._release`` lets go of every
reference back to the call), except what libraries keep in cycles of their own: PyAV's
filter graphs (the graph and its filters refer to each other; each holds FFmpeg buffers),
aioice's connection and its STUN protocols, pyOpenSSL's verification callback. Those wait
for a full collection, and Python starts one only once enough new objects have outlived
younger collections: an idle server never does, and under load the garbage of many calls
piles up first. So after calls end, one full collection, a moment later (calls ending
together share it) and at most once per ``interval``. Its pause grows with what live
sessions hold (docs/performance.md measures it).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

log = logging.getLogger(__name__)

# Calls ending within this much of each other share a collection.
SETTLE_SECONDS = 1.0
# And collections are at least this far apart.
INTERVAL_SECONDS = 10.0


class Reclaimer:
    def __init__(
        self, *, settle: float = SETTLE_SECONDS, interval: float = INTERVAL_SECONDS
    ) -> None:
        self._settle = settle
        self._interval = interval
        self._last: float | None = None
        self._pending: asyncio.TimerHandle | None = None
        self.collections = 0

    def call_ended(self) -> None:
        if self._pending is not None:
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + self._settle
        if self._last is not None:
            due = max(due, self._last + self._interval)
        self._pending = loop.call_at(due, self._collect, loop)

    @property
    def due(self) -> float | None:
        """When (loop time) the next collection runs, if one is pending."""
        return self._pending.when() if self._pending is not None else None

    @property
    def last(self) -> float | None:
        """When (loop time) the last collection ended."""
        return self._last

    def _collect(self, loop: asyncio.AbstractEventLoop) -> None:
        self._pending = None
        started = time.perf_counter()
        found = gc.collect()
        self._last = loop.time()
        self.collections += 1
        log.debug(
            "freed %d objects ended calls left in cycles (%.1f ms)",
            found,
            (time.perf_counter() - started) * 1000,
        )

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
