"""Audio formats and their conversion at the edge of a session.

Providers see PCM16 mono at a rate they declared, or a client's G.711 as it is when they
take it (``Capabilities.passthrough_encodings``); clients may send and receive ``pcm16`` at
other rates and G.711 µ-law / A-law. See ``docs/audio.md``.
"""

from rtcore.audio.convert import InputConverter, OutputConverter, recode
from rtcore.audio.formats import (
    G711_ALAW,
    G711_RATE,
    G711_ULAW,
    PCM16_16K,
    PCM16_24K,
    PCM16_DEFAULT_RATE,
    PCM16_RATES,
    AudioFormat,
    Encoding,
    parse_beta_format,
    parse_format,
    parse_ga_format,
)

__all__ = [
    "G711_ALAW",
    "G711_RATE",
    "G711_ULAW",
    "PCM16_16K",
    "PCM16_24K",
    "PCM16_DEFAULT_RATE",
    "PCM16_RATES",
    "AudioFormat",
    "Encoding",
    "InputConverter",
    "OutputConverter",
    "parse_beta_format",
    "parse_format",
    "parse_ga_format",
    "recode",
]
