"""Freeing what ended calls leave in reference cycles, and what the allocator then holds.

Refcounting frees a call's objects as soon as it ends (``Call._release`` lets go of every
reference back to the call), except what libraries keep in cycles of their own: PyAV's
filter graphs (the graph and its filters refer to each other; each holds FFmpeg buffers),
aioice's connection and its STUN protocols, pyOpenSSL's verification callback. Those wait
for a full collection, and Python starts one only once enough new objects have outlived
younger collections: an idle server never does, and under load the garbage of many calls
piles up first. So after calls end, one full collection, a moment later (calls ending
together share it) and at most once per ``interval``. Its pause grows with what live
sessions hold (docs/performance.md measures it).

Then the C allocator is asked to give back what it holds free. glibc keeps memory that
threads freed in its arenas and returns it to the system only from the top of a heap, so
each call's threads and buffers (aiortc's decoder thread, FFmpeg's frames) leave the RSS a
little higher, for no use; ``malloc_trim`` returns those pages. Other C libraries (musl,
macOS) have no such call, and nothing is asked of them.

``malloc_trim`` does not reach the free top of a thread's arena (glibc has up to eight per
CPU; each call's decoder thread takes one): an arena gives that back only as a block is
freed, and only past the trim threshold, which glibc raises, along with the size from which
blocks get their own mapping, each time a mapped block larger than it is freed (up to 64
MB). So the media stack holds both at glibc's defaults (``hold_thresholds``): without it
the arenas' resident size grew by 5 MB over 260 calls and RSS crept on, 10-30 KB a call.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

# Calls ending within this much of each other share a collection.
SETTLE_SECONDS = 1.0
# And collections are at least this far apart.
INTERVAL_SECONDS = 10.0


# mallopt's parameters (glibc's malloc.h), and the values held: glibc's own defaults.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD = 128 * 1024
MMAP_THRESHOLD = 128 * 1024


def _glibc(name: str, *argtypes: type[ctypes._SimpleCData[int]]) -> Callable[..., int] | None:
    try:
        function = getattr(ctypes.CDLL(None), name)  # the C library the process runs on
    except (OSError, AttributeError):  # not glibc
        return None
    function.argtypes, function.restype = list(argtypes), ctypes.c_int
    return function  # type: ignore[no-any-return]


_TRIM = _glibc("malloc_trim", ctypes.c_size_t)
_MALLOPT = _glibc("mallopt", ctypes.c_int, ctypes.c_int)


def give_back() -> None:
    """Hand the C allocator's free pages back to the system, where it can."""
    if _TRIM is not None:
        _TRIM(0)


def hold_thresholds() -> bool:
    """Fix glibc's trim and mapping thresholds at its defaults, so that a thread's arena
    gives back its free top as soon as it passes 128 KB rather than once it passes what the
    largest block freed so far has raised the threshold to. False where there is no
    ``mallopt`` or it refused."""
    if _MALLOPT is None:
        return False
    held = _MALLOPT(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    return _MALLOPT(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and held


class Reclaimer:
    def __init__(
        self, *, settle: float = SETTLE_SECONDS, interval: float = INTERVAL_SECONDS
    ) -> None:
        self._settle = settle
        self._interval = interval
        self._last: float | None = None
        self._pending: asyncio.TimerHandle | None = None
        self._ended = 0  # calls ended since the last collection
        self.collections = 0

    def call_ended(self) -> None:
        self._ended += 1
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
        give_back()
        self._last = loop.time()
        self.collections += 1
        ended, self._ended = self._ended, 0
        log.info(
            "reclaimed what %d ended call(s) left: %d objects in cycles, and the allocator's "
            "free pages (%.1f ms)",
            ended,
            found,
            (time.perf_counter() - started) * 1000,
        )

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
