"""An opt-in measurement hook: when audio crossed the emulator's side of the wire.

Benchmarks pass an object with these two methods as ``NovaSonicEmulator(probe=...)`` to
timestamp every ``audioInput`` the emulator takes in and every ``audioOutput`` it sends. With
no probe (the default) the emulator does nothing extra but one ``is None`` test per chunk.
Timestamps are ``time.monotonic_ns()``, which on Linux is one clock for every process.
"""

from __future__ import annotations

from typing import Protocol


class AudioProbe(Protocol):
    def audio_in(self, stream: int, pcm: bytes, at_ns: int) -> None:
        """``pcm`` (decoded ``audioInput`` content) of ``stream`` arrived at ``at_ns``."""

    def audio_out(self, stream: int, size: int, at_ns: int) -> None:
        """An ``audioOutput`` of ``size`` PCM bytes on ``stream`` was written at ``at_ns``."""
