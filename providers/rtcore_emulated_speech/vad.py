"""Energy-based speech detection on the input audio timeline.

Time is counted in input samples, not wall-clock time, so a client that streams faster than real
time sees exactly the same turns as one that streams live.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FRAME_SECONDS = 0.02
# -40 dBFS: a quiet room stays below it, any spoken or tone-coded utterance is well above.
SPEECH_RMS = 0.01 * 32768
ONSET_SECONDS = 0.1
MIN_TURN_SECONDS = 0.15
_SPEECH_MEAN_SQUARE = SPEECH_RMS * SPEECH_RMS
_MAXIMUM = np.maximum.reduce
_MINIMUM = np.minimum.reduce
# At most this much voiced audio is kept per turn to identify a tone code.
_KEEP_SECONDS = 3.0


@dataclass(slots=True)
class VadResult:
    """What one chunk of audio changed."""

    speech_started: bool = False
    turn: np.ndarray | None = None  # voiced samples of a finished turn
    turn_seconds: float = 0.0


@dataclass(slots=True)
class EnergyVad:
    sample_rate: int
    endpoint_seconds: float
    # Voiced audio needed before speech counts as started (Gemini's prefixPaddingMs).
    onset_seconds: float = ONSET_SECONDS
    _frame: int = 0
    _onset_frames: int = 0
    _pending: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    _voiced_run: int = 0
    _silent_run: int = 0
    _in_speech: bool = False
    _voiced: list[np.ndarray] = field(default_factory=list)
    _voiced_kept: int = 0
    _speech_samples: int = 0

    def __post_init__(self) -> None:
        self._frame = max(1, int(self.sample_rate * FRAME_SECONDS))
        self._onset_frames = max(1, round(self.onset_seconds / FRAME_SECONDS))

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    def feed(self, pcm: bytes) -> VadResult:
        result = VadResult()
        samples = np.frombuffer(pcm, dtype="<i2")
        if self._pending.size:
            samples = np.concatenate((self._pending, samples))
        usable = samples.size - samples.size % self._frame
        self._pending = samples[usable:].copy()
        if usable == 0:
            return result
        body = samples[:usable]
        count = usable // self._frame
        endpoint = max(1, round(self.endpoint_seconds / FRAME_SECONDS))
        # A frame's RMS cannot reach the threshold unless one of its samples does: most chunks
        # (silence, a quiet room) are settled by two reductions instead of per-frame energies.
        if int(_MAXIMUM(body)) < SPEECH_RMS and int(_MINIMUM(body)) > -SPEECH_RMS:
            voiced = None
        else:
            frames = body.reshape(count, self._frame).astype(np.float32)
            # Mean square against the squared threshold: the same test as RMS >= SPEECH_RMS
            # without a square root, through ufuncs (np.mean's Python wrapper costs more here).
            voiced = np.add.reduce(frames * frames, axis=1) >= _SPEECH_MEAN_SQUARE * self._frame
            if not voiced.any():
                voiced = None
        if voiced is None:
            # No voiced frame: the frame loop below reduces to this.
            self._voiced_run = 0
            self._silent_run += count
            if not self._in_speech:
                self._drop()
            elif self._silent_run >= endpoint:
                self._finish(result)
            return result
        for index, level in enumerate(voiced.tolist()):
            if level:
                self._voiced_run += 1
                self._silent_run = 0
            else:
                self._voiced_run = 0
                self._silent_run += 1
            if self._in_speech:
                if level:
                    self._keep(frames[index])
                elif self._silent_run >= endpoint:
                    self._finish(result)
            elif level:
                self._keep(frames[index])
                if self._voiced_run >= self._onset_frames:
                    self._in_speech = True
                    result.speech_started = True
            else:
                self._drop()
        return result

    def flush(self) -> VadResult:
        """End the current turn now (the client stopped sending audio mid-silence)."""
        result = VadResult()
        if self._in_speech:
            self._finish(result)
        return result

    def _keep(self, frame: np.ndarray) -> None:
        self._speech_samples += frame.size
        if self._voiced_kept < _KEEP_SECONDS * self.sample_rate:
            self._voiced.append(frame)
            self._voiced_kept += frame.size

    def _drop(self) -> None:
        self._voiced.clear()
        self._voiced_kept = 0
        self._speech_samples = 0

    def _finish(self, result: VadResult) -> None:
        seconds = self._speech_samples / self.sample_rate
        if seconds >= MIN_TURN_SECONDS and self._voiced:
            result.turn = np.concatenate(self._voiced)
            result.turn_seconds = seconds
        self._in_speech = False
        self._drop()
