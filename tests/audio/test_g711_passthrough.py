"""G.711 passed through: a provider that takes the client's G.711 gets the very bytes, and
the client the provider's; audio kept in one format is recoded whole for an upstream that
takes another (a failover)."""

from __future__ import annotations

import numpy as np
import pytest
from audio_signals import pcm, peak_frequency, samples, sine

from rtcore.audio import G711_ALAW, G711_ULAW, PCM16_16K, AudioFormat, recode
from rtcore.audio.convert import InputConverter, OutputConverter
from rtcore.audio.g711 import alaw_decode, ulaw_decode, ulaw_encode


def _odd_chunks(data: bytes) -> list[bytes]:
    # Odd sizes: a PCM16 framer would hold a byte back; G.711 has none to hold.
    return [data[i : i + 157] for i in range(0, len(data), 157)]


@pytest.mark.parametrize("fmt", [G711_ULAW, G711_ALAW])
def test_the_bytes_pass_through_both_ways(fmt: AudioFormat) -> None:
    data = ulaw_encode(sine(440.0, 8000, 0.5))
    into = InputConverter(fmt, 8000, fmt.encoding)
    out = OutputConverter(8000, fmt, fmt.encoding)
    for chunk in _odd_chunks(data):
        assert into.feed(chunk) is chunk
        assert out.feed(chunk) is chunk
    assert into.flush() == out.flush() == b""


def test_the_same_client_is_decoded_for_a_pcm16_provider() -> None:
    data = ulaw_encode(sine(440.0, 8000, 0.5))
    into = InputConverter(G711_ULAW, 8000)
    assert into.feed(data) == ulaw_decode(data).tobytes()


@pytest.mark.parametrize(
    ("client", "rate", "encoding"),
    [
        (G711_ULAW, 8000, "g711_alaw"),
        (PCM16_16K, 8000, "g711_ulaw"),
        (G711_ULAW, 16000, "g711_ulaw"),
    ],
)
def test_nothing_converts_to_g711_for_a_provider(
    client: AudioFormat, rate: int, encoding: str
) -> None:
    # G.711 reaches a provider only as the client's own bytes.
    with pytest.raises(ValueError, match="no conversion"):
        InputConverter(client, rate, encoding)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no conversion"):
        OutputConverter(rate, client, encoding)  # type: ignore[arg-type]


def test_recode_between_any_formats() -> None:
    tone = sine(440.0, 8000, 0.5)
    ulaw = ulaw_encode(tone)
    assert recode(ulaw, G711_ULAW, G711_ULAW) is ulaw
    # µ-law to PCM16 at its rate: decoded, sample for sample.
    assert recode(ulaw, G711_ULAW, AudioFormat("pcm16", 8000)) == ulaw_decode(ulaw).tobytes()
    # To PCM16 at 16 kHz: twice the samples, the same tone.
    wide = samples(recode(ulaw, G711_ULAW, PCM16_16K))
    assert len(wide) == 2 * len(tone)
    assert peak_frequency(wide, 16000) == pytest.approx(440.0, abs=5)
    # PCM16 at 16 kHz to A-law at 8 kHz: a byte a sample, the same tone.
    alaw = recode(pcm(sine(440.0, 16000, 0.5)), PCM16_16K, G711_ALAW)
    assert len(alaw) == 4000
    assert peak_frequency(alaw_decode(alaw), 8000) == pytest.approx(440.0, abs=5)
    assert np.abs(alaw_decode(alaw).astype(np.int32)).max() > 1000
