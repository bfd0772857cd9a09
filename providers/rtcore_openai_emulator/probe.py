"""An opt-in measurement hook: when audio crossed the emulator's side of the wire.

Benchmarks pass an object with these two methods as ``OpenAIRealtimeEmulator(probe=...)``
to timestamp every ``input_audio_buffer.append`` chunk the emulator takes in and every
``response.output_audio.delta`` it sends. With no probe (the default) the emulator does
nothing extra but one ``is None`` test per chunk. Timestamps are ``time.monotonic_ns()``,
which on Linux is one clock for every process. The same two methods as the Nova Sonic and
Gemini Live emulators' probes, so one object serves any of them.
"""

from __future__ import annotations

from typing import Protocol


class AudioProbe(Protocol):
    def audio_in(self, stream: int, pcm: bytes, at_ns: int) -> None:
        """``pcm`` (one appended chunk, decoded to PCM) of ``stream`` (one connection, by
        its 1-based number) arrived at ``at_ns``."""

    def audio_out(self, stream: int, size: int, at_ns: int) -> None:
        """An output audio delta of ``size`` PCM bytes on ``stream`` was written at
        ``at_ns``."""
