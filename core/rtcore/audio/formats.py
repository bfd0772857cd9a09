"""Audio formats a client can declare, in both dialects of the OpenAI Realtime API.

Beta sessions name a format with a string (``"pcm16"``, ``"g711_ulaw"``, ``"g711_alaw"``);
GA sessions use an object (``{"type": "audio/pcm", "rate": 24000}``, ``{"type":
"audio/pcmu"}``, ``{"type": "audio/pcma"}``). Both map onto one ``AudioFormat``.

The parsers return either a format or an error message (never raise) so the protocol layer
can turn the message into an ``invalid_value`` error event without a try/except around
unrelated code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, get_args

import msgspec

Encoding = Literal["pcm16", "g711_ulaw", "g711_alaw"]

PCM16_DEFAULT_RATE: Final = 24000
"""OpenAI's rate for ``pcm16`` / ``audio/pcm`` when a client names no other."""

G711_RATE: Final = 8000
"""G.711 is always 8 kHz."""

PCM16_RATES: Final = (8000, 16000, 24000, 48000)
"""PCM16 rates rtcore converts from and to. OpenAI itself accepts only 24000; 16000 is what
the seed's programs send; 8000 and 48000 cover telephony and browser capture."""

_BETA_NAMES: Final[tuple[str, ...]] = get_args(Encoding)
_GA_TYPES: Final[Mapping[str, Encoding]] = {
    "audio/pcm": "pcm16",
    "audio/pcmu": "g711_ulaw",
    "audio/pcma": "g711_alaw",
}
_GA_NAMES: Final[Mapping[Encoding, str]] = {v: k for k, v in _GA_TYPES.items()}


class AudioFormat(msgspec.Struct, frozen=True):
    """Encoding and sample rate of a mono audio stream.

    ``pcm16`` is 16-bit little-endian signed PCM; ``g711_*`` are one byte per sample.
    """

    encoding: Encoding = "pcm16"
    sample_rate: int = PCM16_DEFAULT_RATE

    @property
    def bytes_per_sample(self) -> int:
        return 2 if self.encoding == "pcm16" else 1

    def is_pcm16(self, rate: int) -> bool:
        """True when bytes in this format are already PCM16 at ``rate`` (no conversion)."""
        return self.encoding == "pcm16" and self.sample_rate == rate

    def beta_name(self) -> str:
        """The beta dialect's string; it cannot say the rate, which is configured apart."""
        return self.encoding

    def ga_object(self) -> dict[str, object]:
        """The GA dialect's object. ``rate`` is only present for PCM, as OpenAI sends it."""
        if self.encoding == "pcm16":
            return {"type": "audio/pcm", "rate": self.sample_rate}
        return {"type": _GA_NAMES[self.encoding]}


PCM16_24K: Final = AudioFormat("pcm16", 24000)
PCM16_16K: Final = AudioFormat("pcm16", 16000)
G711_ULAW: Final = AudioFormat("g711_ulaw", G711_RATE)
G711_ALAW: Final = AudioFormat("g711_alaw", G711_RATE)


def _check_rate(encoding: Encoding, rate: object) -> AudioFormat | str:
    if isinstance(rate, bool) or not isinstance(rate, int):
        return f"audio format rate must be an integer, got {rate!r}"
    if encoding != "pcm16":
        if rate != G711_RATE:
            return f"{encoding} audio is always {G711_RATE} Hz, got rate {rate}"
        return AudioFormat(encoding, G711_RATE)
    if rate not in PCM16_RATES:
        rates = ", ".join(str(r) for r in PCM16_RATES)
        return f"unsupported pcm16 sample rate {rate}; supported rates: {rates}"
    return AudioFormat("pcm16", rate)


def _default_rate(encoding: Encoding, pcm16_rate: int) -> int:
    return pcm16_rate if encoding == "pcm16" else G711_RATE


def parse_beta_format(value: object, *, pcm16_rate: int = PCM16_DEFAULT_RATE) -> AudioFormat | str:
    """Parse a beta ``input_audio_format`` / ``output_audio_format`` string.

    ``pcm16_rate`` is the rate ``"pcm16"`` stands for; it is 24000 unless the server or the
    connection chose otherwise (the beta string has no room for a rate).
    """
    if not isinstance(value, str) or value not in _BETA_NAMES:
        names = ", ".join(repr(n) for n in _BETA_NAMES)
        return f"invalid audio format {value!r}; expected one of {names}"
    encoding: Encoding = value  # type: ignore[assignment]  # checked against the Literal above
    return _check_rate(encoding, _default_rate(encoding, pcm16_rate))


def parse_ga_format(value: object, *, pcm16_rate: int = PCM16_DEFAULT_RATE) -> AudioFormat | str:
    """Parse a GA ``audio.input.format`` / ``audio.output.format`` object.

    A missing ``rate`` means ``pcm16_rate`` for PCM (24000 unless configured otherwise).
    """
    if not isinstance(value, Mapping):
        return f"invalid audio format {value!r}; expected an object with a 'type'"
    kind = value.get("type")
    if not isinstance(kind, str) or kind not in _GA_TYPES:
        names = ", ".join(repr(n) for n in _GA_TYPES)
        return f"invalid audio format type {kind!r}; expected one of {names}"
    unknown = set(value) - {"type", "rate"}
    if unknown:
        return f"unknown audio format field {sorted(unknown)[0]!r}"
    encoding = _GA_TYPES[kind]
    return _check_rate(encoding, value.get("rate", _default_rate(encoding, pcm16_rate)))


def parse_format(value: object, *, pcm16_rate: int = PCM16_DEFAULT_RATE) -> AudioFormat | str:
    """Parse either dialect's shape: a string is beta, an object is GA."""
    if isinstance(value, str):
        return parse_beta_format(value, pcm16_rate=pcm16_rate)
    return parse_ga_format(value, pcm16_rate=pcm16_rate)
