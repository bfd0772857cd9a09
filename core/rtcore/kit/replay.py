"""User-audio bookkeeping for one session: position, speech onset, and the replay ring.

An upstream that reports the user's speech only after the fact (with its transcript, say)
leaves the session to measure it: a cheap energy measure supplies the ``audio_start_ms`` of
the utterance and tells whether recent audio holds speech that no stream has answered yet,
which a new stream (a rotation, a recovery) must hear again.
"""

from __future__ import annotations

from collections import deque

import numpy as np

# -40 dBFS over 20 ms frames: quiet rooms stay under it, speech is well above.
_SPEECH_RMS = 0.01 * 32768
_FRAME_MS = 20
_QUIET_MS_FOR_NEW_ONSET = 300
# Voiced audio this long, after quiet, is an utterance beginning (not a click): what
# server VADs wait for before they say speech started.
_VOICED_MS_FOR_SPEECH = 100


class InputAudio:
    """Position, onset and replay ring of the user's audio, plus whether the upstream has
    heard all of it.

    *Unanswered speech* is voiced audio that reached the upstream after its last sign of
    having heard the user (a user turn, a response starting). An upstream that ends a user
    turn only after a pause of its own holds, for a while after the user stops speaking,
    speech that no event has acknowledged yet: a stream retired in that window takes the
    turn with it unless the audio is replayed.
    """

    def __init__(self, rate: int, *, replay_seconds: float = 10.0) -> None:
        self.rate = rate
        self.bytes_per_ms = rate * 2 / 1000
        self.position_ms = 0.0
        self.onset_ms = 0
        self.last_voiced_ms = -1.0
        self._quiet_ms = float(_QUIET_MS_FOR_NEW_ONSET)
        self._voiced_run_ms = 0.0
        self._utterance_reported = True
        self._unanswered_ms: float | None = None
        # (start position in ms, pcm) of the newest ``replay_seconds`` of audio.
        self._ring: deque[tuple[float, bytes]] = deque()
        self._ring_bytes = 0
        self._ring_limit = int(replay_seconds * rate * 2)

    def observe(self, pcm: bytes) -> bool:
        """Account for client audio: position, onset estimate, replay ring. True when an
        utterance began in it (``_VOICED_MS_FOR_SPEECH`` of voiced audio after quiet; its
        start is ``onset_ms``), for an upstream that does not say so itself."""
        began = False
        samples = np.frombuffer(pcm, dtype="<i2", count=len(pcm) // 2)
        frame = max(1, self.rate * _FRAME_MS // 1000)
        count = samples.size // frame
        if count:
            # Per 20 ms frame, the sum of squares (exact in float64) against the threshold's:
            # one dot product for the usual one-frame chunk, no per-chunk temporaries.
            if count == 1:
                whole = samples[:frame].astype(np.float64)
                energies = [float(whole @ whole)]
            else:
                grid = samples[: count * frame].reshape(count, frame).astype(np.float64)
                energies = np.einsum("ij,ij->i", grid, grid).tolist()
            threshold = _SPEECH_RMS * _SPEECH_RMS * frame
            for index, energy in enumerate(energies):
                at = self.position_ms + index * _FRAME_MS
                if energy >= threshold:
                    if self._quiet_ms >= _QUIET_MS_FOR_NEW_ONSET:
                        self.onset_ms = int(at)
                        self._utterance_reported = False
                        self._voiced_run_ms = 0.0
                    self._quiet_ms = 0.0
                    self._voiced_run_ms += _FRAME_MS
                    self.last_voiced_ms = at
                    if self._unanswered_ms is None:
                        self._unanswered_ms = at
                    if (
                        not self._utterance_reported
                        and self._voiced_run_ms >= _VOICED_MS_FOR_SPEECH
                    ):
                        self._utterance_reported = began = True
                else:
                    self._quiet_ms += _FRAME_MS
                    self._voiced_run_ms = 0.0
        self._ring.append((self.position_ms, pcm))
        self._ring_bytes += len(pcm)
        while self._ring_bytes - len(self._ring[0][1]) >= self._ring_limit:
            self._ring_bytes -= len(self._ring.popleft()[1])
        self.position_ms += len(pcm) / self.bytes_per_ms
        return began

    def quiet_for_ms(self) -> float:
        """Audio since the last voiced frame (all of it when nothing was voiced yet)."""
        return self.position_ms - max(self.last_voiced_ms, 0.0)

    def speaking_recently(self, within_ms: float = 600.0) -> bool:
        return self.last_voiced_ms >= 0 and self.position_ms - self.last_voiced_ms < within_ms

    def acknowledge(self) -> None:
        """The upstream showed it heard the user up to now (a user turn or a response
        began)."""
        self._unanswered_ms = None

    def unanswered(self, give_up_ms: float = 5000.0) -> bool:
        """Speech went upstream that it has not acknowledged yet. Speech followed by
        ``give_up_ms`` of audio with no acknowledgement was noise to the upstream (a
        cough, a door), so it no longer counts."""
        return (
            self._unanswered_ms is not None and self.position_ms - self.last_voiced_ms < give_up_ms
        )

    def unanswered_audio(self, *, until_ms: float, lead_ms: float = 300.0) -> list[bytes]:
        """The audio from just before the unanswered speech began up to ``until_ms``, to
        replay on a new stream (as much as the ring still holds)."""
        if self._unanswered_ms is None:
            return []
        return self._between(self._unanswered_ms - lead_ms, until_ms)

    def recent(self, *, until_ms: float, within_ms: float = 3000.0) -> list[bytes]:
        return self._between(until_ms - within_ms, until_ms)

    def _between(self, start_ms: float, end_ms: float) -> list[bytes]:
        out: list[bytes] = []
        for begin, pcm in self._ring:
            end = begin + len(pcm) / self.bytes_per_ms
            if end <= start_ms or begin >= end_ms:
                continue
            skip = int(max(0.0, start_ms - begin) * self.bytes_per_ms)
            stop = int((min(end, end_ms) - begin) * self.bytes_per_ms)
            out.append(pcm[skip - skip % 2 : stop - stop % 2])
        return out

    def clear(self) -> None:
        # The client discarded its buffer: what the upstream already heard is not replayed.
        self._ring.clear()
        self._ring_bytes = 0
        self._unanswered_ms = None
