"""What ended calls leave in reference cycles is collected, once for calls ending together,
and no more often than the interval; aiortc's encoders convert audio on the calling thread."""

from __future__ import annotations

import asyncio
import gc
import os
import weakref
from collections.abc import Iterator

import av
import pytest
from aiortc import rtcrtpsender
from aiortc.codecs import get_encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from rtcore_webrtc import codecs
from rtcore_webrtc.reclaim import Reclaimer

OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=96)


@pytest.fixture
def no_automatic_collection() -> Iterator[None]:
    """Only the reclaimer may collect: otherwise a test of it could pass on Python's own."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Node:
    def __init__(self) -> None:
        self.me = self


def _garbage_cycle() -> asyncio.Event:
    """A cycle nothing refers to; the event is set when it is freed."""
    freed = asyncio.Event()
    node = _Node()
    weakref.finalize(node, freed.set)
    return freed


async def test_calls_ending_together_share_one_collection(no_automatic_collection: None) -> None:
    reclaimer = Reclaimer(settle=0.05, interval=30.0)
    freed = _garbage_cycle()
    for _ in range(3):
        reclaimer.call_ended()
    await asyncio.wait_for(freed.wait(), 30)
    assert reclaimer.collections == 1
    assert reclaimer.due is None
    # The next ending waits for the interval, counted from that collection.
    later = _garbage_cycle()
    reclaimer.call_ended()
    assert reclaimer.last is not None
    assert reclaimer.due is not None
    assert reclaimer.due >= reclaimer.last + 30.0
    assert not later.is_set()
    reclaimer.cancel()
    assert reclaimer.due is None
    gc.collect()
    assert later.is_set()


async def test_a_collection_after_the_interval(no_automatic_collection: None) -> None:
    reclaimer = Reclaimer(settle=0.01, interval=0.2)
    for _ in range(2):
        freed = _garbage_cycle()
        reclaimer.call_ended()
        await asyncio.wait_for(freed.wait(), 30)
    assert reclaimer.collections == 2


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _encode(encoder: object, frames: int = 10) -> None:
    for index in range(frames):
        frame = av.AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(bytes(1920))
        frame.sample_rate = 48000
        frame.pts = index * 960
        encoder.encode(frame)  # type: ignore[attr-defined]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="FFmpeg starts no pool on one CPU")
def test_aiortcs_opus_encoder_starts_no_threads() -> None:
    # As aiortc makes it, each of its conversions starts a pool of FFmpeg threads.
    before = _threads()
    stock = get_encoder(OPUS)
    _encode(stock)
    assert _threads() > before
    del stock
    gc.collect()
    codecs.install()
    codecs.install()  # twice is once
    before = _threads()
    encoder = getattr(rtcrtpsender, "get_encoder")(OPUS)  # noqa: B009 (not exported)
    assert encoder.resampler.threads == codecs.THREADS
    assert encoder.codec.thread_count == codecs.THREADS
    _encode(encoder)
    assert _threads() <= before  # none started (another test's may have ended meanwhile)
