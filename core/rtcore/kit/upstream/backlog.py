"""What the client sent while no upstream stream could take it, in order (no I/O).

Entries are builders, not payloads: they are written for whichever stream takes them, since
a stream may number its own content. A stream that stays unreachable must
not grow the backlog without bound, so past ``limit_bytes`` of audio the oldest audio goes
(never a text turn or a tool result, which the conversation cannot do without).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)

# Writes one entry for the stream that takes it (the stream's own writer as argument).
Builder = Callable[[Any], list[bytes]]


class Backlog:
    def __init__(self) -> None:
        # (builder, audio bytes, of which the client's own audio). The client's audio in
        # here is always the newest it sent.
        self._entries: deque[tuple[Builder, int, int]] = deque()
        self.audio = 0
        self.client_audio = 0

    def __bool__(self) -> bool:
        return bool(self._entries)

    def hold(self, build: Builder, audio: int, client: int, *, limit_bytes: int) -> None:
        self._entries.append((build, audio, client))
        self.audio += audio
        self.client_audio += client
        if self.audio > limit_bytes:
            log.warning("upstream unreachable for too long: dropping the oldest held audio")
            self._drop_oldest_audio()

    def drain(self) -> Iterator[Builder]:
        """Each entry in order, removed as it is taken: its client audio counts as sent
        from then on, which is what a replay after a failed send starts from."""
        while self._entries:
            build, audio, client = self._entries.popleft()
            self.audio -= audio
            self.client_audio -= client
            yield build

    def _drop_oldest_audio(self) -> None:
        for entry in self._entries:
            if entry[1]:
                self._entries.remove(entry)
                self.audio -= entry[1]
                self.client_audio -= entry[2]
                return
