"""Streaming conversion: frequency and energy survive, chunking changes nothing, no clicks."""

from __future__ import annotations

import numpy as np
import pytest
from audio_signals import chunks, max_jump, pcm, peak_frequency, rms, samples, sine, steady

from rtcore.audio import (
    G711_ALAW,
    G711_ULAW,
    PCM16_16K,
    PCM16_24K,
    AudioFormat,
    InputConverter,
    OutputConverter,
)

FREQS = (220.0, 440.0, 1000.0, 3000.0)


def _in(fmt: AudioFormat, rate: int, data: bytes) -> bytes:
    conv = InputConverter(fmt, rate)
    return conv.feed(data) + conv.flush()


def _out(rate: int, fmt: AudioFormat, data: bytes) -> bytes:
    conv = OutputConverter(rate, fmt)
    return conv.feed(data) + conv.flush()


def _assert_same_tone(x: np.ndarray, x_rate: int, y: np.ndarray, y_rate: int) -> None:
    ref, got = steady(x, x_rate), steady(y, y_rate)
    assert abs(peak_frequency(got, y_rate) - peak_frequency(ref, x_rate)) <= 2.0
    assert rms(got) == pytest.approx(rms(ref), rel=0.03)


@pytest.mark.parametrize("freq", FREQS)
def test_24k_to_16k_and_back(freq: float) -> None:
    x = sine(freq, 24000, 1.0)
    mid = samples(_in(PCM16_24K, 16000, pcm(x)))
    assert len(mid) == 16000
    _assert_same_tone(x, 24000, mid, 16000)
    back = samples(_out(16000, PCM16_24K, pcm(mid)))
    assert len(back) == 24000
    _assert_same_tone(x, 24000, back, 24000)
    # The ramp-in aside, the round trip is the original signal, delayed by nothing.
    err = steady(back, 24000).astype(np.int32) - steady(x, 24000).astype(np.int32)
    assert rms(err) < 0.01 * rms(x)


@pytest.mark.parametrize("fmt", [G711_ULAW, G711_ALAW])
@pytest.mark.parametrize("freq", [300.0, 1000.0, 3000.0])
def test_g711_round_trip(fmt: AudioFormat, freq: float) -> None:
    # Provider audio at 24 kHz → client G.711 at 8 kHz → provider PCM at 16 kHz.
    x = sine(freq, 24000, 1.0)
    line = _out(24000, fmt, pcm(x))
    assert len(line) == 8000  # one byte per 8 kHz sample
    back = samples(_in(fmt, 16000, line))
    assert len(back) == 16000
    _assert_same_tone(x, 24000, back, 16000)


@pytest.mark.parametrize("fmt", [G711_ULAW, G711_ALAW])
def test_g711_at_8k_without_resampling_is_just_the_codec(fmt: AudioFormat) -> None:
    x = sine(1000.0, 8000, 0.5)
    line = _out(8000, fmt, pcm(x))
    back = samples(_in(fmt, 8000, line))
    assert len(back) == len(x)
    # G.711's signal-to-quantisation-noise ratio is about 38 dB for a loud tone.
    noise = rms((back.astype(np.int32) - x.astype(np.int32)).astype(np.int16))
    assert 20 * np.log10(rms(x) / noise) > 33


@pytest.mark.parametrize(
    ("make", "fmt", "in_rate", "out_rate"),
    [
        (InputConverter, PCM16_24K, 24000, 16000),
        (InputConverter, PCM16_16K, 16000, 24000),
        (InputConverter, G711_ULAW, 8000, 16000),
        (OutputConverter, PCM16_16K, 24000, 16000),
        (OutputConverter, G711_ALAW, 24000, 8000),
    ],
)
def test_chunked_equals_one_shot_without_clicks(
    make: type[InputConverter] | type[OutputConverter],
    fmt: AudioFormat,
    in_rate: int,
    out_rate: int,
) -> None:
    rng = np.random.default_rng(7)
    x = sine(440.0, in_rate, 2.0, amplitude=0.3)
    data = (
        pcm(x) if make is OutputConverter or fmt.encoding == "pcm16" else _out(in_rate, fmt, pcm(x))
    )

    def build() -> InputConverter | OutputConverter:
        if make is InputConverter:
            return InputConverter(fmt, out_rate)
        return OutputConverter(in_rate, fmt)

    one = build()
    whole = one.feed(data) + one.flush()
    streamed = build()
    parts = [streamed.feed(c) for c in chunks(data, rng, 1, 1500)]
    joined = b"".join(parts) + streamed.flush()
    assert len(joined) == len(whole)

    if make is InputConverter or fmt.encoding == "pcm16":
        a, b = samples(joined), samples(whole)
        assert int(np.max(np.abs(a.astype(np.int32) - b.astype(np.int32)))) <= 4
        # A 440 Hz tone at 0.3 full scale moves at most ~2π·440/rate·9830 per sample; a
        # click at a chunk boundary would be far larger.
        bound = 2 * np.pi * 440 / out_rate * 0.3 * 32767 * 1.1
        assert max_jump(steady(a, out_rate)) < bound
    else:
        # G.711 output: a 1-LSB difference before encoding flips a code only near a step edge.
        diff = np.frombuffer(joined, np.uint8) != np.frombuffer(whole, np.uint8)
        assert float(np.mean(diff)) < 0.01


def test_pass_through_returns_the_same_bytes() -> None:
    data = pcm(sine(440.0, 24000, 0.1))
    inp = InputConverter(PCM16_24K, 24000)
    assert inp.feed(data) is data
    out = OutputConverter(16000, PCM16_16K)
    assert out.feed(data) is data
    assert inp.flush() == b""
    assert out.flush() == b""


def test_pass_through_carries_an_odd_byte() -> None:
    data = pcm(sine(440.0, 24000, 0.01))
    conv = InputConverter(PCM16_24K, 24000)
    got = (
        conv.feed(data[:7]) + conv.feed(data[7:8]) + conv.feed(data[8:101]) + conv.feed(data[101:])
    )
    assert got == data


def test_odd_byte_counts_when_resampling() -> None:
    data = pcm(sine(440.0, 24000, 0.2))
    conv = InputConverter(PCM16_24K, 16000)
    whole = _in(PCM16_24K, 16000, data)
    got = b"".join(conv.feed(data[i : i + 333]) for i in range(0, len(data), 333)) + conv.flush()
    assert len(got) == len(whole)
    assert len(got) % 2 == 0


def test_reset_drops_buffered_audio() -> None:
    data = pcm(sine(440.0, 24000, 0.2))
    conv = InputConverter(PCM16_24K, 16000)
    conv.feed(data + b"\x01")
    conv.reset()
    # After a reset the converter behaves like a new one: no leftover tail, no odd byte.
    assert conv.feed(data) + conv.flush() == _in(PCM16_24K, 16000, data)


def test_flush_makes_the_converter_reusable() -> None:
    data = pcm(sine(440.0, 16000, 0.2))
    conv = OutputConverter(16000, PCM16_24K)
    first = conv.feed(data) + conv.flush()
    second = conv.feed(data) + conv.flush()
    assert first == second


def test_empty_input() -> None:
    assert InputConverter(PCM16_24K, 16000).feed(b"") == b""
    assert InputConverter(G711_ULAW, 16000).feed(b"") == b""
    assert OutputConverter(24000, G711_ALAW).feed(b"\x00") == b""
