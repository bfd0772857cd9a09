"""Session audio formats and the G.711 codecs (μ-law, A-law) the VAD hears through.

``audio/pcm`` is 16-bit little-endian mono at the format's rate; ``audio/pcmu`` and
``audio/pcma`` are G.711 at 8 kHz (reference §2, audio formats row).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PCM = "audio/pcm"
PCMU = "audio/pcmu"
PCMA = "audio/pcma"
G711_RATE = 8000
DEFAULT_RATE = 24000
XAI_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)


@dataclass(frozen=True, slots=True)
class AudioFormat:
    type: str = PCM
    rate: int = DEFAULT_RATE

    @property
    def sample_rate(self) -> int:
        return self.rate if self.type == PCM else G711_RATE

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * (2 if self.type == PCM else 1)

    def wire(self) -> dict[str, object]:
        if self.type == PCM:
            return {"type": PCM, "rate": self.rate}
        return {"type": self.type}

    def decode(self, data: bytes) -> bytes:
        """16-bit PCM at ``sample_rate``."""
        if self.type == PCMU:
            return _ULAW_TABLE[np.frombuffer(data, dtype=np.uint8)].tobytes()
        if self.type == PCMA:
            return _ALAW_TABLE[np.frombuffer(data, dtype=np.uint8)].tobytes()
        return data[: len(data) - len(data) % 2]

    def encode(self, pcm: bytes) -> bytes:
        """``pcm`` (16-bit at ``sample_rate``) in this format."""
        if self.type == PCMU:
            return ulaw_encode(np.frombuffer(pcm, dtype="<i2"))
        if self.type == PCMA:
            return alaw_encode(np.frombuffer(pcm, dtype="<i2"))
        return pcm


def _ulaw_decode_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype("<i2")


def _alaw_decode_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    sign = a & 0x80
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << (exponent - 1)
    )
    return np.where(sign != 0, magnitude, -magnitude).astype("<i2")


_ULAW_TABLE = _ulaw_decode_table()
_ALAW_TABLE = _alaw_decode_table()


def ulaw_encode(samples: np.ndarray) -> bytes:
    x = samples.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    exponent = np.clip(exponent, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    encoded: bytes = (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()
    return encoded


def alaw_encode(samples: np.ndarray) -> bytes:
    x = samples.astype(np.int32)
    sign = np.where(x >= 0, 0x80, 0)
    magnitude = np.minimum(np.abs(x), 32767)
    exponent = np.clip(np.floor(np.log2(np.maximum(magnitude, 1))).astype(np.int32) - 7, 0, 7)
    mantissa = np.where(exponent == 0, magnitude >> 4, magnitude >> (exponent + 3)) & 0x0F
    encoded: bytes = ((sign | (exponent << 4) | mantissa) ^ 0x55).astype(np.uint8).tobytes()
    return encoded
