"""An energy-based voice activity detector: RMS over 20 ms frames against a threshold.

Crude on purpose: it makes speech events a pure function of the audio, so tests can say
exactly when ``SpeechStarted`` and ``SpeechStopped`` happen (a tone is speech, zeros are
silence).
"""

from __future__ import annotations

from typing import Final

import msgspec
import numpy as np

from rtcore.kit import new_item_id
from rtcore.provider.messages import SessionConfig, SpeechStarted, SpeechStopped

FRAME_MS: Final = 20


class VoiceStart(msgspec.Struct, frozen=True):
    start_ms: int


class VoiceStop(msgspec.Struct, frozen=True):
    end_ms: int
    """Where the silence that ended the turn was complete (OpenAI's ``audio_end_ms``)."""
    speech_ms: int
    """From onset to the end of the last loud frame."""


class EnergyDetector:
    """Feed PCM16; get start/stop events. Times count from the first byte ever fed, so they
    keep growing across ``reset`` (as OpenAI's ``audio_start_ms`` does)."""

    def __init__(self, rate: int, threshold: float, silence_ms: int) -> None:
        self.threshold = threshold
        self.silence_ms = silence_ms
        self._frame = rate * FRAME_MS // 1000  # samples per frame
        self._carry = b""
        self._elapsed_ms = 0  # start of the next frame
        self._speaking = False
        self._start_ms = 0
        self._last_loud_end_ms = 0

    @property
    def speaking(self) -> bool:
        return self._speaking

    def configure(self, rate: int, threshold: float, silence_ms: int) -> None:
        if rate * FRAME_MS // 1000 != self._frame:
            self._carry = b""  # a partial frame at the old rate means nothing at the new one
            self._frame = rate * FRAME_MS // 1000
        self.threshold = threshold
        self.silence_ms = silence_ms

    def reset(self) -> None:
        self._carry = b""
        self._speaking = False

    def feed(self, pcm: bytes) -> list[VoiceStart | VoiceStop]:
        data = self._carry + pcm if self._carry else pcm
        frame_bytes = self._frame * 2
        whole = len(data) // frame_bytes
        self._carry = data[whole * frame_bytes :]
        if not whole:
            return []
        frames = np.frombuffer(data, dtype="<i2", count=whole * self._frame)
        energy = np.sqrt(
            np.mean(frames.reshape(whole, self._frame).astype(np.float64) ** 2, axis=1)
        )
        events: list[VoiceStart | VoiceStop] = []
        for loud in (energy > self.threshold).tolist():  # per 20 ms frame, not per sample
            start, self._elapsed_ms = self._elapsed_ms, self._elapsed_ms + FRAME_MS
            if loud:
                if not self._speaking:
                    self._speaking = True
                    self._start_ms = start
                    events.append(VoiceStart(start))
                self._last_loud_end_ms = self._elapsed_ms
            elif self._speaking and self._elapsed_ms - self._last_loud_end_ms >= self.silence_ms:
                self._speaking = False
                events.append(VoiceStop(self._elapsed_ms, self._last_loud_end_ms - self._start_ms))
        return events


DEFAULT_SILENCE_MS: Final = 500


class Listener:
    """The session's input audio: what is buffered since the last turn, and the turns the
    detector finds (when turn detection is on) as boundary events, each spoken turn under
    an item id of its own."""

    def __init__(self, config: SessionConfig, threshold: float) -> None:
        self._threshold = threshold
        self._detector = EnergyDetector(config.input_sample_rate, threshold, 0)
        self.configure(config)
        self._turn_id = ""
        self.buffered_bytes = 0
        self.total_ms = 0  # all input audio, for usage
        self.spoken_ms = 0  # the last spoken turn's speech

    def configure(self, config: SessionConfig) -> None:
        self._config = config
        td = config.turn_detection
        silence = td.silence_duration_ms if td and td.silence_duration_ms else DEFAULT_SILENCE_MS
        self._detector.configure(config.input_sample_rate, self._threshold, silence)

    def feed(self, pcm: bytes) -> list[SpeechStarted | SpeechStopped]:
        self.buffered_bytes += len(pcm)
        self.total_ms += len(pcm) * 1000 // (2 * self._config.input_sample_rate)
        if self._config.turn_detection is None:
            return []  # manual turns: the client commits
        out: list[SpeechStarted | SpeechStopped] = []
        for voice in self._detector.feed(pcm):
            if isinstance(voice, VoiceStart):
                self._turn_id = new_item_id()
                out.append(SpeechStarted(item_id=self._turn_id, audio_start_ms=voice.start_ms))
            else:
                self.spoken_ms = voice.speech_ms
                out.append(SpeechStopped(item_id=self._turn_id, audio_end_ms=voice.end_ms))
        return out

    def take(self) -> int:
        """End the turn: the milliseconds buffered since the last one."""
        ms = self.buffered_bytes * 1000 // (2 * self._config.input_sample_rate)
        self.clear()
        return ms

    def clear(self) -> None:
        self._detector.reset()
        self.buffered_bytes = 0
