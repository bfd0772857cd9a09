"""Parsing the audio formats of both dialects."""

from __future__ import annotations

import pytest

from rtcore.audio import (
    G711_ALAW,
    G711_ULAW,
    PCM16_16K,
    PCM16_24K,
    AudioFormat,
    parse_beta_format,
    parse_format,
    parse_ga_format,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("pcm16", PCM16_24K), ("g711_ulaw", G711_ULAW), ("g711_alaw", G711_ALAW)],
)
def test_beta_names(value: str, expected: AudioFormat) -> None:
    assert parse_beta_format(value) == expected
    assert parse_format(value) == expected
    assert expected.beta_name() == value


def test_beta_pcm16_at_a_configured_rate() -> None:
    assert parse_beta_format("pcm16", pcm16_rate=16000) == PCM16_16K
    # The rate only applies to PCM: G.711 stays 8 kHz.
    assert parse_beta_format("g711_ulaw", pcm16_rate=16000) == G711_ULAW


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"type": "audio/pcm", "rate": 24000}, PCM16_24K),
        ({"type": "audio/pcm"}, PCM16_24K),
        ({"type": "audio/pcm", "rate": 16000}, PCM16_16K),
        ({"type": "audio/pcmu"}, G711_ULAW),
        ({"type": "audio/pcma"}, G711_ALAW),
        ({"type": "audio/pcmu", "rate": 8000}, G711_ULAW),
    ],
)
def test_ga_objects(value: dict[str, object], expected: AudioFormat) -> None:
    assert parse_ga_format(value) == expected
    assert parse_format(value) == expected


def test_ga_pcm_without_rate_takes_the_configured_default() -> None:
    assert parse_ga_format({"type": "audio/pcm"}, pcm16_rate=16000) == PCM16_16K


def test_ga_objects_round_trip() -> None:
    for fmt in (PCM16_24K, PCM16_16K, G711_ULAW, G711_ALAW):
        assert parse_ga_format(fmt.ga_object()) == fmt
    assert PCM16_24K.ga_object() == {"type": "audio/pcm", "rate": 24000}
    assert G711_ULAW.ga_object() == {"type": "audio/pcmu"}


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("pcm24", "invalid audio format 'pcm24'"),
        ("audio/pcm", "invalid audio format 'audio/pcm'"),
        ("", "expected one of 'pcm16'"),
        (None, "expected an object"),
        (16000, "expected an object"),
        ({"rate": 24000}, "invalid audio format type None"),
        ({"type": "pcm16"}, "invalid audio format type 'pcm16'"),
        ({"type": "audio/pcm", "rate": 44100}, "unsupported pcm16 sample rate 44100"),
        ({"type": "audio/pcm", "rate": "24000"}, "must be an integer"),
        ({"type": "audio/pcm", "rate": True}, "must be an integer"),
        ({"type": "audio/pcmu", "rate": 16000}, "always 8000 Hz"),
        ({"type": "audio/pcm", "rate": 24000, "channels": 2}, "unknown audio format field"),
    ],
)
def test_invalid_formats_give_a_message(value: object, fragment: str) -> None:
    result = parse_format(value)
    assert isinstance(result, str)
    assert fragment in result


def test_format_properties() -> None:
    assert PCM16_24K.bytes_per_sample == 2
    assert G711_ALAW.bytes_per_sample == 1
    assert PCM16_16K.is_pcm16(16000)
    assert not PCM16_16K.is_pcm16(24000)
    assert not G711_ULAW.is_pcm16(8000)
