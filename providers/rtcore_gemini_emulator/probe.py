"""An opt-in measurement hook: when audio crossed the emulator's side of the wire.

Benchmarks pass an object with these two methods as ``GeminiLiveEmulator(probe=...)`` to
timestamp every ``realtimeInput`` audio chunk the emulator takes in and every model audio
chunk it sends. With no probe (the default) the emulator does nothing extra but one
``is None`` test per chunk. Timestamps are ``time.monotonic_ns()``, which on Linux is one
clock for every process. The same two methods as the Nova Sonic emulator's probe, so one
object serves either.
"""

from __future__ import annotations

from typing import Protocol


class AudioProbe(Protocol):
    def audio_in(self, stream: int, pcm: bytes, at_ns: int) -> None:
        """``pcm`` (a decoded ``audio/pcm`` blob of ``realtimeInput``) of ``stream`` (one
        connection) arrived at ``at_ns``."""

    def audio_out(self, stream: int, size: int, at_ns: int) -> None:
        """A ``modelTurn`` audio part of ``size`` PCM bytes on ``stream`` was written at
        ``at_ns``."""
