"""Audio conversion without a thread pool per call.

PyAV converts audio on an FFmpeg filter graph, and a graph left to choose starts one worker
thread per CPU. A call has three (the microphone's conversion to mono, and two inside the
Opus encoder aiortc makes for the reply: its own resampler and the codec's), each converting
one 20 ms frame at a time, which no pool speeds up. Worse, PyAV's graph and its filters
refer to each other: when a call ends, the graph, its threads and its buffers stay until the
cyclic collector runs, which an idle server never does (see ``rtcore_webrtc.reclaim``).
With one thread a graph starts none.
"""

from __future__ import annotations

from typing import Any

import av

# The only thread a graph (or a codec's own conversion) then uses: the caller's.
THREADS = 1


def resampler(*, format: str, layout: str, rate: int) -> av.AudioResampler:
    return av.AudioResampler(format=format, layout=layout, rate=rate, threads=THREADS)


def single_threaded(encoder: Any) -> Any:
    """An encoder aiortc made, with its conversions on the calling thread.

    aiortc's audio encoders hold ``resampler`` (PyAV's, built on first use) and ``codec``
    (whose ``encode`` converts again, with ``thread_count`` threads; it opens on first use,
    so the count can still change)."""
    old = getattr(encoder, "resampler", None)
    if isinstance(old, av.AudioResampler) and old.threads != THREADS:
        encoder.resampler = av.AudioResampler(
            format=old.format,
            layout=old.layout,
            rate=old.rate or None,
            frame_size=old.frame_size or None,
            options=old.options or None,
            threads=THREADS,
        )
    codec = getattr(encoder, "codec", None)
    if isinstance(codec, av.CodecContext) and not codec.is_open:
        codec.thread_count = THREADS
    return encoder


def install() -> None:
    """Every encoder aiortc's senders make from now on is single-threaded (aiortc offers no
    option for it; its senders call ``get_encoder`` from their own module)."""
    from aiortc import rtcrtpsender

    original = getattr(rtcrtpsender, "get_encoder")  # noqa: B009 (not exported)
    if getattr(original, "single_threaded", False):
        return

    def get_encoder(codec: Any) -> Any:
        return single_threaded(original(codec))

    get_encoder.single_threaded = True  # type: ignore[attr-defined]
    setattr(rtcrtpsender, "get_encoder", get_encoder)  # noqa: B010
