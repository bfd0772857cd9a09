"""User-audio bookkeeping for one session: position, speech onset, and the replay buffer.

Nova Sonic reports the user's speech only as a transcript, after the fact; the session's
own cheap energy measure supplies the ``audio_start_ms`` of the utterance and tells
whether recent audio holds speech that no stream has answered yet.
"""

from __future__ import annotations

from collections import deque

import numpy as np

# -40 dBFS over 20 ms frames: quiet rooms stay under it, speech is well above.
_SPEECH_RMS = 0.01 * 32768
_FRAME_MS = 20
_QUIET_MS_FOR_NEW_ONSET = 300


class InputAudio:
    def __init__(self, rate: int, *, replay_seconds: float = 3.0) -> None:
        self.rate = rate
        self.bytes_per_ms = rate * 2 / 1000
        self.position_ms = 0.0
        self.onset_ms = 0
        self.last_voiced_ms = -1.0
        self._quiet_ms = float(_QUIET_MS_FOR_NEW_ONSET)
        self._ring: deque[bytes] = deque()
        self._ring_bytes = 0
        self._ring_limit = int(replay_seconds * rate * 2)

    def observe(self, pcm: bytes) -> None:
        """Account for client audio: position, onset estimate, replay ring."""
        samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
        frame = max(1, self.rate * _FRAME_MS // 1000)
        usable = samples.size - samples.size % frame
        if usable:
            frames = samples[:usable].reshape(-1, frame).astype(np.float32)
            rms = np.sqrt(np.mean(frames * frames, axis=1))
            for index, level in enumerate(rms):
                at = self.position_ms + index * _FRAME_MS
                if level >= _SPEECH_RMS:
                    if self._quiet_ms >= _QUIET_MS_FOR_NEW_ONSET:
                        self.onset_ms = int(at)
                    self._quiet_ms = 0.0
                    self.last_voiced_ms = at
                else:
                    self._quiet_ms += _FRAME_MS
        self.position_ms += len(pcm) / self.bytes_per_ms
        self._ring.append(pcm)
        self._ring_bytes += len(pcm)
        while self._ring_bytes - len(self._ring[0]) >= self._ring_limit:
            self._ring_bytes -= len(self._ring.popleft())

    def speaking_recently(self, within_ms: float = 600.0) -> bool:
        return self.last_voiced_ms >= 0 and self.position_ms - self.last_voiced_ms < within_ms

    def recent(self) -> list[bytes]:
        return list(self._ring)

    def clear(self) -> None:
        self._ring.clear()
        self._ring_bytes = 0


def frames(pcm: bytes, max_bytes: int) -> list[bytes]:
    """Split into audioInput-sized pieces (Bedrock suggests small frames)."""
    if len(pcm) <= max_bytes:
        return [pcm]
    return [pcm[i : i + max_bytes] for i in range(0, len(pcm), max_bytes)]


def silence(rate: int, seconds: float) -> bytes:
    return bytes(int(rate * seconds) * 2)
