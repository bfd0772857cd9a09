"""The assistant's voice: a deterministic, speech-like waveform whose length follows the text.

Each word becomes a voiced syllable train (a harmonic stack at the voice's pitch with a gentle
contour), separated by short pauses, so clients get real audio with realistic timing. Each
emulator maps its own voice names to a pitch.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

SECONDS_PER_CHAR = 0.06
WORD_GAP_SECONDS = 0.06
MIN_WORD_SECONDS = 0.12
# The pitch of a voice an emulator does not know.
MIDDLE_PITCH_HZ = 205.0
_HARMONICS = np.array([1.0, 0.55, 0.35, 0.2, 0.12, 0.07])


def speech_seconds(text: str) -> float:
    words = text.split() or [""]
    return sum(max(MIN_WORD_SECONDS, SECONDS_PER_CHAR * len(w)) + WORD_GAP_SECONDS for w in words)


@lru_cache(maxsize=512)
def synthesize(text: str, pitch_hz: float, sample_rate: int) -> bytes:
    """16-bit mono little-endian PCM of ``text`` spoken at ``pitch_hz``."""
    pieces: list[np.ndarray] = []
    gap = np.zeros(round(WORD_GAP_SECONDS * sample_rate), dtype=np.float64)
    for index, word in enumerate(text.split() or [""]):
        seconds = max(MIN_WORD_SECONDS, SECONDS_PER_CHAR * len(word))
        count = round(seconds * sample_rate)
        t = np.arange(count) / sample_rate
        # A falling contour per word plus a slow wobble, varied by position in the sentence.
        f0 = pitch_hz * (1.1 - 0.2 * t / seconds) * (1.0 + 0.04 * math.sin(index))
        phase = 2 * np.pi * np.cumsum(f0) / sample_rate
        wave = sum(
            amp * np.sin((k + 1) * phase)
            for k, amp in enumerate(_HARMONICS)
            if (k + 1) * pitch_hz * 1.2 < sample_rate / 2
        )
        # Syllable-rate amplitude modulation (~5 Hz) makes it sound like speech, not a buzz.
        envelope = np.sin(np.pi * t / seconds) * (0.75 + 0.25 * np.sin(2 * np.pi * 5.0 * t))
        pieces.append(np.asarray(wave) * envelope)
        pieces.append(gap)
    signal = np.concatenate(pieces)
    peak = float(np.max(np.abs(signal))) or 1.0
    return (signal / peak * 0.35 * 32767).astype("<i2").tobytes()
