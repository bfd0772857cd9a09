"""G.711 tables against ITU-T G.711 reference values."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest

from rtcore.audio import g711

ALL_PCM = np.arange(-32768, 32768, dtype=np.int16)


# Code points from G.711 tables 1a/2a (µ-law) and 1b/2b (A-law), scaled to 16 bits
# (µ-law is defined on 14 bits, A-law on 13: multiply by 4 and 8).
@pytest.mark.parametrize(
    ("code", "value"),
    [(0x00, -32124), (0x80, 32124), (0x7F, 0), (0xFF, 0), (0x70, -120), (0xF0, 120)],
)
def test_ulaw_decode_reference(code: int, value: int) -> None:
    assert g711.ULAW_DECODE[code] == value


@pytest.mark.parametrize(
    ("code", "value"),
    [(0xD5, 8), (0x55, -8), (0xAA, 32256), (0x2A, -32256), (0xC5, 264), (0x45, -264)],
)
def test_alaw_decode_reference(code: int, value: int) -> None:
    assert g711.ALAW_DECODE[code] == value


@pytest.mark.parametrize(
    ("value", "ulaw", "alaw"),
    # -1 is -1 on the 14-bit µ-law scale (an arithmetic shift), one step below zero.
    [
        (0, 0xFF, 0xD5),
        (-1, 0x7E, 0x55),
        (-4, 0x7E, 0x55),
        (32767, 0x80, 0xAA),
        (-32768, 0x00, 0x2A),
    ],
)
def test_encode_reference(value: int, ulaw: int, alaw: int) -> None:
    x = np.array([value], dtype=np.int16)
    assert g711.ulaw_encode(x) == bytes([ulaw])
    assert g711.alaw_encode(x) == bytes([alaw])


def test_every_code_survives_decode_then_encode() -> None:
    # Each code decodes to the centre of its step, which encodes back to itself; the two
    # zero codes of µ-law (0x7F and 0xFF) both mean 0, which encodes as 0xFF.
    codes = bytes(range(256))
    ulaw = g711.ulaw_encode(g711.ulaw_decode(codes))
    assert ulaw == bytes(0xFF if c == 0x7F else c for c in codes)
    assert g711.alaw_encode(g711.alaw_decode(codes)) == codes


def test_quantisation_error_is_within_one_step() -> None:
    for encode, decode in (
        (g711.ULAW_ENCODE, g711.ULAW_DECODE),
        (g711.ALAW_ENCODE, g711.ALAW_DECODE),
    ):
        back = decode[encode[ALL_PCM.view(np.uint16)]].astype(np.int32)
        error = np.abs(back - ALL_PCM.astype(np.int32))
        # Steps double per segment; the largest is 1024 (µ-law) / 1024 (A-law) at the top.
        assert int(error.max()) <= 1024
        loud = np.abs(ALL_PCM.astype(np.int32)) > 1024
        assert float((error[loud] / np.abs(ALL_PCM[loud].astype(np.int32))).max()) < 0.07


def test_bit_exact_with_the_reference_codec_where_available() -> None:
    """Python <= 3.12 still ships audioop, whose codec is the ITU/Sun reference code: the
    tables must match it on every one of the 65536 inputs and 256 codes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            audioop = importlib.import_module("audioop")
        except ImportError:
            pytest.skip("audioop is not in this Python (removed in 3.13)")
    data = ALL_PCM.astype("<i2").tobytes()
    codes = bytes(range(256))
    assert g711.ulaw_encode(ALL_PCM) == audioop.lin2ulaw(data, 2)
    assert g711.alaw_encode(ALL_PCM) == audioop.lin2alaw(data, 2)
    assert g711.ulaw_decode(codes).astype("<i2").tobytes() == audioop.ulaw2lin(codes, 2)
    assert g711.alaw_decode(codes).astype("<i2").tobytes() == audioop.alaw2lin(codes, 2)
