"""Reference signals and measurements shared by the audio tests."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.int16]


def sine(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> Samples:
    t = np.arange(int(rate * seconds)) / rate
    return np.round(np.sin(2 * np.pi * freq * t) * amplitude * 32767).astype(np.int16)


def pcm(samples: Samples) -> bytes:
    return samples.astype("<i2").tobytes()


def samples(data: bytes) -> Samples:
    return np.frombuffer(data, dtype="<i2")


def peak_frequency(x: Samples, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])


def rms(x: Samples) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def steady(x: Samples, rate: int, margin_s: float = 0.05) -> Samples:
    """Drop the resampler's ramp-in and ramp-out at both ends before measuring."""
    m = int(rate * margin_s)
    return x[m : len(x) - m]


def max_jump(x: Samples) -> int:
    return int(np.max(np.abs(np.diff(x.astype(np.int32)))))


def chunks(data: bytes, rng: np.random.Generator, low: int = 1, high: int = 2000) -> list[bytes]:
    """Split ``data`` at random points, odd sizes included."""
    out, pos = [], 0
    while pos < len(data):
        n = int(rng.integers(low, high))
        out.append(data[pos : pos + n])
        pos += n
    return out
