"""A reply spoken in real time: its audio handed out in chunks at a pace that may change while
it goes, each transcription fragment with the chunk its word starts in, stopped short when
the speaker is interrupted."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable

from .voice import speech_seconds

_FRAGMENT = re.compile(r"\S+\s*")


def fragments(text: str) -> list[str]:
    """The pieces a reply's text goes out in: each word with the space after it."""
    return _FRAGMENT.findall(text)


class PacedSpeech:
    """``pcm`` (16-bit mono at ``rate``, the voice saying ``text``) in chunks of
    ``chunk_seconds``; ``said`` the fragments handed out so far, ``sent`` the bytes."""

    def __init__(self, text: str, pcm: bytes, rate: int, chunk_seconds: float) -> None:
        self._pcm = pcm
        self._rate = rate
        self._chunk_seconds = chunk_seconds
        self._pieces = fragments(text)
        # Where each fragment's word starts in the audio, in seconds.
        self._starts: list[float] = []
        offset = 0.0
        for fragment in self._pieces:
            self._starts.append(offset)
            offset += speech_seconds(fragment)
        self.said: list[str] = []
        self.sent = 0

    @property
    def seconds(self) -> float:
        """Of audio handed out."""
        return self.sent / 2 / self._rate

    def spoken(self) -> list[tuple[float, str]]:
        """Each fragment handed out, with the second its word starts at."""
        return list(zip(self._starts, self.said, strict=False))

    async def chunks(
        self,
        realtime_factor: Callable[[], float],
        stop: asyncio.Event,
        *,
        yield_unpaced: bool = False,
    ) -> AsyncIterator[tuple[list[str], bytes]]:
        """Each chunk with the fragments whose words start in it, due ``realtime_factor``
        (read per chunk) times its offset after the first (0: at once), until ``stop`` is set.
        ``yield_unpaced``: unpaced chunks still let other tasks run between them."""
        step = 2 * round(self._chunk_seconds * self._rate)
        started = time.monotonic()
        for index, position in enumerate(range(0, len(self._pcm), step)):
            factor = realtime_factor()
            if factor > 0:
                delay = started + index * self._chunk_seconds * factor - time.monotonic()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
            elif yield_unpaced:
                await asyncio.sleep(0)
            if stop.is_set():
                return
            chunk_end = (position + step) / 2 / self._rate
            starting: list[str] = []
            while len(self.said) < len(self._pieces) and self._starts[len(self.said)] < chunk_end:
                starting.append(self._pieces[len(self.said)])
                self.said.append(starting[-1])
            chunk = self._pcm[position : position + step]
            self.sent += len(chunk)
            yield starting, chunk
