"""A microphone and a speaker for LiveKit Agents without a room, through its public I/O
classes (``livekit.agents.voice.io``), the way a custom telephony or test sink plugs in.

The microphone plays a PCM16 recording in 20 ms frames at the pace of a real one, then
keeps sending silence, as an open microphone does; the speaker keeps every frame and
reports each segment played in full as soon as it is flushed.
"""

from __future__ import annotations

import asyncio
import time

from livekit import rtc
from livekit.agents.voice import io

FRAME_MS = 20


class Microphone(io.AudioInput):
    def __init__(self, pcm: bytes, rate: int) -> None:
        super().__init__(label="test-microphone")
        self.pcm = pcm
        self.rate = rate
        self.sent = 0
        self._started: float | None = None

    async def __anext__(self) -> rtc.AudioFrame:
        step = self.rate * FRAME_MS // 1000 * 2
        if self._started is None:
            self._started = time.monotonic()
        chunk = self.pcm[self.sent : self.sent + step].ljust(step, b"\0")
        self.sent += step
        due = self._started + self.sent / (self.rate * 2)
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        return rtc.AudioFrame(
            data=chunk, sample_rate=self.rate, num_channels=1, samples_per_channel=step // 2
        )


class Speaker(io.AudioOutput):
    def __init__(self, rate: int) -> None:
        super().__init__(
            label="test-speaker",
            capabilities=io.AudioOutputCapabilities(pause=False),
            sample_rate=rate,
        )
        self.frames: list[rtc.AudioFrame] = []
        self._segment = 0.0

    @property
    def seconds(self) -> float:
        return sum(f.duration for f in self.frames)

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        self.frames.append(frame)
        self._segment += frame.duration

    def flush(self) -> None:
        super().flush()
        played, self._segment = self._segment, 0.0
        self.on_playback_finished(playback_position=played, interrupted=False)

    def clear_buffer(self) -> None:
        played, self._segment = self._segment, 0.0
        self.on_playback_finished(playback_position=played, interrupted=True)
