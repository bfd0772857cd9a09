"""G.711 µ-law and A-law (ITU-T G.711) with numpy lookup tables.

``audioop`` left the standard library in Python 3.13, and the codecs on PyPI are small,
unmaintained C extensions, so rtcore carries its own. Both directions are a single table
lookup per sample: decoding indexes a 256-entry table with the code bytes, encoding indexes
a 65536-entry table with the int16 samples reinterpreted as uint16. The tables are built once
at import from the segment rules in G.711 (vectorised, no per-sample Python loop) and cost
about 130 KiB.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

_ULAW_BIAS: Final = 0x84  # 132 on the 16-bit scale: gives segment 0 a floor (0x21 on 14 bits)
_ULAW_CLIP14: Final = 8158  # largest 14-bit magnitude that still fits segment 7 after the bias


def _build_ulaw_encode() -> npt.NDArray[np.uint8]:
    pcm = np.arange(-32768, 32768, dtype=np.int32)
    # The ITU reference quantises 14-bit samples; shifting first (rounding towards -inf)
    # keeps us bit-exact with it for negative inputs too.
    pcm14 = pcm >> 2
    sign = np.where(pcm14 < 0, 0x80, 0x00)
    mag = np.minimum(np.abs(pcm14), _ULAW_CLIP14) + (_ULAW_BIAS >> 2)
    # Segment = position of the highest set bit above bit 5 (mag >= 0x21 so it is >= 5).
    seg = np.minimum(np.floor(np.log2(mag)).astype(np.int32) - 5, 7)
    mantissa = (mag >> (seg + 1)) & 0x0F
    code = ~(sign | (seg << 4) | mantissa) & 0xFF
    return _by_uint16(pcm, code.astype(np.uint8))


def _build_alaw_encode() -> npt.NDArray[np.uint8]:
    pcm = np.arange(-32768, 32768, dtype=np.int32)
    # A-law codes 13-bit magnitudes; negative values use the one's complement so that
    # -1..-8 land in the same step as 0..7, as the ITU reference code does.
    sign = np.where(pcm >= 0, 0x80, 0x00)
    mag = np.where(pcm >= 0, pcm, -pcm - 1) >> 3
    seg = np.where(mag < 32, 0, np.floor(np.log2(np.maximum(mag, 1))).astype(np.int32) - 4)
    seg = np.minimum(seg, 7)
    mantissa = np.where(seg == 0, mag >> 1, mag >> seg) & 0x0F
    code = np.where(mag >= 4096, 0x7F, (seg << 4) | mantissa)
    code = (code | sign) ^ 0x55  # even bits are inverted on the line
    return _by_uint16(pcm, code.astype(np.uint8))


def _by_uint16(pcm: npt.NDArray[np.int32], code: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Reorder a table built over -32768..32767 so it is indexed by the sample's bits."""
    table = np.empty(65536, dtype=np.uint8)
    table[pcm.astype(np.int16).view(np.uint16)] = code
    return table


def _build_ulaw_decode() -> npt.NDArray[np.int16]:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    seg = (code >> 4) & 0x07
    mag = ((((code & 0x0F) << 3) + _ULAW_BIAS) << seg) - _ULAW_BIAS
    return np.where(code & 0x80, -mag, mag).astype(np.int16)


def _build_alaw_decode() -> npt.NDArray[np.int16]:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    seg = (code >> 4) & 0x07
    mag = ((code & 0x0F) << 4) + 8  # middle of the quantisation step
    mag = np.where(seg == 0, mag, (mag + 0x100) << np.maximum(seg - 1, 0))
    return np.where(code & 0x80, mag, -mag).astype(np.int16)


ULAW_ENCODE: Final = _build_ulaw_encode()
ALAW_ENCODE: Final = _build_alaw_encode()
ULAW_DECODE: Final = _build_ulaw_decode()
ALAW_DECODE: Final = _build_alaw_decode()


def ulaw_decode(data: bytes) -> npt.NDArray[np.int16]:
    return ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def alaw_decode(data: bytes) -> npt.NDArray[np.int16]:
    return ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def ulaw_encode(pcm: npt.NDArray[np.int16]) -> bytes:
    return ULAW_ENCODE[pcm.view(np.uint16)].tobytes()


def alaw_encode(pcm: npt.NDArray[np.int16]) -> bytes:
    return ALAW_ENCODE[pcm.view(np.uint16)].tobytes()
