"""Splitting a byte stream into lines without ever holding more than a bounded amount.

A line longer than the limit is not buffered whole: its first ``limit + 1`` bytes are handed
on (so the core sees an oversized event and reports it), and the rest is skipped up to the
next newline, after which lines are read normally again.
"""

from __future__ import annotations

from collections.abc import Iterator


class LineSplitter:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._buffer = bytearray()
        self._skipping = False

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        """Yield each complete line in ``chunk`` (without its newline), or a ``limit + 1``
        byte prefix for each over-long one."""
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                break
            if self._skipping:
                self._skipping = False
            else:
                self._buffer += chunk[start:end]
                if len(self._buffer) > self.limit:
                    yield bytes(self._buffer[: self.limit + 1])
                else:
                    yield bytes(self._buffer)
            self._buffer.clear()
            start = end + 1
        if not self._skipping:
            self._buffer += chunk[start:]
            if len(self._buffer) > self.limit:
                yield bytes(self._buffer[: self.limit + 1])
                self._buffer.clear()
                self._skipping = True

    def end(self) -> Iterator[bytes]:
        """At EOF: a last line without a trailing newline still counts."""
        if self._buffer and not self._skipping:
            yield bytes(self._buffer)
        self._buffer.clear()
        self._skipping = False
