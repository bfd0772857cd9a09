"""Audio between a WebRTC peer and a session: the microphone track in, the reply track out.

aiortc decodes the peer's Opus to 48 kHz frames; the session takes PCM16 mono at 48 kHz
(the core converts to the model's rate). The reply track is the session's ``MediaSink``:
the core hands it the reply as PCM16 mono 48 kHz and it paces it out in 20 ms frames, as
a real-time source must (aiortc encodes whatever ``recv`` returns, as fast as it returns).
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from rtcore.session.media import Playback
from rtcore_webrtc.codecs import resampler

RATE = 48000
FRAME_SAMPLES = 960  # 20 ms at 48 kHz
FRAME_BYTES = FRAME_SAMPLES * 2
TIME_BASE = fractions.Fraction(1, RATE)
SILENCE = bytes(FRAME_BYTES)


class PacedAudioTrack(MediaStreamTrack):
    """A real-time source of PCM16 mono 48 kHz: one 20 ms frame per ``recv``, on the clock
    (from the first frame on), with the samples ``next_frame`` gives (silence to fill)."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._pts = 0

    def next_frame(self) -> bytes:
        """The next 20 ms (at most ``FRAME_BYTES``; the rest is silence)."""
        raise NotImplementedError

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._pts / RATE
        if due > now:
            await asyncio.sleep(due - now)
        chunk = self.next_frame()
        if len(chunk) < FRAME_BYTES:
            chunk += SILENCE[len(chunk) :]
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(chunk)
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = TIME_BASE
        self._pts += FRAME_SAMPLES
        return frame


class ReplyTrack(PacedAudioTrack):
    """The model's voice; silence between replies (the peer's jitter buffer and echo
    canceller expect a steady stream).

    ``on_stopped(response_id)`` is called once the last audio of a response has gone out
    and no more is coming (OpenAI's ``output_audio_buffer.stopped``): a queue that runs
    dry while the model is still speaking is not the end."""

    rate = RATE  # the MediaSink's: what Opus decodes to and encodes from

    def __init__(self, on_stopped: Callable[[str], None]) -> None:
        super().__init__()
        self._on_stopped = on_stopped
        self._queue = bytearray()
        self._playing: str | None = None  # the response whose audio is going out
        self._item: str | None = None  # and its item
        self._played = 0  # bytes of that item gone out
        self._ended: str | None = None  # a response all of whose audio is queued

    # -- the session's MediaSink ------------------------------------------------------------

    def play(self, response_id: str, item_id: str, pcm: bytes) -> None:
        if item_id != self._item:
            self._item, self._played = item_id, 0
        self._playing = response_id
        self._queue += pcm

    def finish(self, response_id: str) -> None:
        self._ended = response_id

    def detach(self) -> None:
        """The call is over: nobody to tell when playback stops (and no reference back)."""
        self._on_stopped = _nobody

    def clear(self) -> Playback | None:
        """Drop what has not gone out (barge-in): what was playing, and how far it got."""
        playing, self._playing = self._playing, None
        self._queue.clear()
        if playing is None or self._item is None:
            return None
        played_ms = self._played * 1000 // (RATE * 2)
        return Playback(response_id=playing, item_id=self._item, played_ms=played_ms)

    # -- the paced source -------------------------------------------------------------------

    def next_frame(self) -> bytes:
        chunk = bytes(self._queue[:FRAME_BYTES])
        del self._queue[:FRAME_BYTES]
        self._played += len(chunk)
        if not self._queue and self._playing is not None and self._playing == self._ended:
            finished, self._playing = self._playing, None
            self._on_stopped(finished)
        return chunk


def _nobody(response_id: str) -> None:
    pass


class MicrophoneReader:
    """The peer's audio track → PCM16 mono 48 kHz chunks for the session."""

    def __init__(self) -> None:
        self._resampler = resampler(format="s16", layout="mono", rate=RATE)

    def pcm(self, frame: av.AudioFrame) -> bytes:
        frames = self._resampler.resample(frame)
        return b"".join(bytes(out.planes[0])[: out.samples * 2] for out in frames)
