"""The tone code: a test "speaks" utterance N by sending a sine at ``tone_frequency(N)``.

This lets tests and benchmarks script exact user transcripts through real audio, without a
speech recogniser. Any other audio is treated as unrecognised speech.
"""

from __future__ import annotations

import io
import wave

import numpy as np

BASE_HZ = 400.0
STEP_HZ = 100.0
SLOTS = 32
_TOLERANCE_HZ = 20.0
# Share of spectral energy the peak bin (and neighbours) must hold for audio to count as a tone.
_PURITY = 0.6


def tone_frequency(slot: int) -> float:
    if not 0 <= slot < SLOTS:
        raise ValueError(f"tone slot must be in 0..{SLOTS - 1}")
    return BASE_HZ + STEP_HZ * slot


def detect_slot(samples: np.ndarray, sample_rate: int) -> int | None:
    """The tone slot of a voiced segment, or None if it is not a clean code tone."""
    if samples.size < sample_rate // 20:
        return None
    signal = samples.astype(np.float64) * np.hanning(samples.size)
    power = np.abs(np.fft.rfft(signal)) ** 2
    total = float(power.sum())
    if total <= 0.0:
        return None
    peak = int(np.argmax(power))
    if float(power[max(0, peak - 3) : peak + 4].sum()) / total < _PURITY:
        return None
    frequency = peak * sample_rate / samples.size
    slot = round((frequency - BASE_HZ) / STEP_HZ)
    if 0 <= slot < SLOTS and abs(frequency - tone_frequency(slot)) <= _TOLERANCE_HZ:
        return slot
    return None


def silence_pcm(seconds: float, sample_rate: int = 16000) -> bytes:
    return bytes(2 * round(seconds * sample_rate))


def utterance_pcm(
    slot: int,
    *,
    sample_rate: int = 16000,
    seconds: float = 0.6,
    amplitude: float = 0.3,
    lead_silence: float = 0.1,
    trail_silence: float = 2.1,
) -> bytes:
    """16-bit mono PCM the emulator hears as utterance ``slot``: silence, a tone, then enough
    silence (2.1 s by default) to end the turn under every endpointing setting."""
    count = round(seconds * sample_rate)
    t = np.arange(count) / sample_rate
    ramp = min(count // 2, sample_rate // 100)
    envelope = np.ones(count)
    if ramp:
        envelope[:ramp] = np.linspace(0.0, 1.0, ramp)
        envelope[-ramp:] = np.linspace(1.0, 0.0, ramp)
    tone = amplitude * 32767 * envelope * np.sin(2 * np.pi * tone_frequency(slot) * t)
    return (
        silence_pcm(lead_silence, sample_rate)
        + tone.astype("<i2").tobytes()
        + silence_pcm(trail_silence, sample_rate)
    )


def pcm_to_wav(pcm: bytes, sample_rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm)
    return buffer.getvalue()


def utterance_wav(slot: int, *, sample_rate: int = 16000, **options: float) -> bytes:
    """A WAV file of :func:`utterance_pcm`, for programs that send audio files."""
    return pcm_to_wav(utterance_pcm(slot, sample_rate=sample_rate, **options), sample_rate)
