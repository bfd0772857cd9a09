"""The spoken nudge that makes Nova Sonic v1 answer a text turn.

Nova Sonic v1 never answers text alone: it speaks only after it heard the user speak.
rtcore sends the pending text as USER context and then a short utterance on the user's
audio channel; the utterance's own transcript is hidden from the client and the model is
told (in its system prompt) that this sound means "answer the latest text message".

The utterance is synthesised here (a two-syllable, voiced "okay?"-like sound made with a
glottal pulse train through vowel formant filters), so rtcore ships no recording and
depends on no TTS service. Users who want a recorded phrase set ``text_trigger_wav``.
"""

from __future__ import annotations

import wave
from functools import cache
from pathlib import Path

import numpy as np

SYSTEM_HINT = (
    "Some user turns arrive as text messages. When the user then makes only a short "
    "sound such as 'okay', treat it as 'please answer my latest text message' and answer "
    "that message directly, without mentioning the sound."
)

_RATE = 16000
# (seconds, F1, F2, F3, pitch start, pitch end): "oh" then "kay", pitch rising as in a question.
_SYLLABLES = (
    (0.22, 500.0, 900.0, 2500.0, 125.0, 118.0),
    (0.30, 480.0, 2000.0, 2700.0, 130.0, 175.0),
)


def _resonator(signal: np.ndarray, freq: float, bandwidth: float) -> np.ndarray:
    # Two-pole resonator (Klatt): cheap and enough to give each vowel its colour.
    r = np.exp(-np.pi * bandwidth / _RATE)
    c = -(r**2)
    b = 2 * r * np.cos(2 * np.pi * freq / _RATE)
    a = 1 - b - c
    out = np.zeros_like(signal)
    y1 = y2 = 0.0
    for i, x in enumerate(signal):
        y = a * x + b * y1 + c * y2
        out[i] = y
        y2, y1 = y1, y
    return out


def _syllable(seconds: float, f1: float, f2: float, f3: float, p0: float, p1: float) -> np.ndarray:
    n = int(seconds * _RATE)
    pitch = np.linspace(p0, p1, n)
    phase = np.cumsum(pitch / _RATE)
    pulses = np.diff(np.floor(phase), prepend=0.0)  # one impulse per glottal period
    source = pulses + 0.02 * np.random.default_rng(7).standard_normal(n)
    voiced = sum(_resonator(source, f, bw) for f, bw in ((f1, 80.0), (f2, 100.0), (f3, 150.0)))
    envelope = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.03 * _RATE))
    return np.asarray(voiced * envelope)


@cache
def _synthesised() -> np.ndarray:
    burst = 0.3 * np.random.default_rng(11).standard_normal(int(0.03 * _RATE))  # the "k"
    gap = np.zeros(int(0.04 * _RATE))
    first, second = (_syllable(*s) for s in _SYLLABLES)
    voice = np.concatenate((first, gap, burst, second))
    voice = voice / np.max(np.abs(voice)) * 0.5
    return np.asarray(voice, dtype=np.float32)


def _read_wav(path: str) -> tuple[np.ndarray, int]:
    with wave.open(str(Path(path).expanduser()), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: text_trigger_wav must be 16-bit PCM")
        rate = wav.getframerate()
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        if wav.getnchannels() > 1:
            data = data.reshape(-1, wav.getnchannels()).mean(axis=1)
    return data.astype(np.float32) / 32768, rate


def trigger_pcm(
    rate: int, *, wav_path: str | None = None, lead: float = 0.3, tail: float = 2.0
) -> bytes:
    """The nudge as 16-bit PCM at ``rate``, with silence around it so Nova's turn
    detection sees a complete, finished utterance."""
    import soxr

    if wav_path:
        voice, source_rate = _read_wav(wav_path)
    else:
        voice, source_rate = _synthesised(), _RATE
    if source_rate != rate:
        voice = soxr.resample(voice, source_rate, rate)
    padded = np.concatenate((np.zeros(int(lead * rate)), voice, np.zeros(int(tail * rate))))
    pcm: bytes = (np.clip(padded, -1, 1) * 32767).astype("<i2").tobytes()
    return pcm
