"""Streaming conversion between a client's audio format and the provider's.

The provider's format is PCM16 at a rate it declared, or the client's own G.711 when the
provider takes that as it is (then the converters pass the bytes through).

One converter per direction per session, because both resampling and byte framing carry
state across chunks:

* the resampler's filter needs the samples around a chunk boundary, so chunks resampled
  independently would click at every boundary; ``soxr.ResampleStream`` keeps that history;
* a client may split a PCM16 stream at an odd byte, so the trailing byte is held back until
  its partner arrives.

Everything is vectorised numpy over views of the input; when the formats already match the
input bytes are returned as they are (no copy).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import soxr

from rtcore.audio import g711
from rtcore.audio.formats import AudioFormat, Encoding

_EMPTY: Final = b""

# "HQ" is soxr's default: transparent for speech with ~5 ms of delay. The faster "MQ"/"LQ"
# save little at these rates and alias audibly in the 8 kHz telephony case.
_QUALITY: Final = "HQ"

Samples = npt.NDArray[np.int16]


class _Resampler:
    """A soxr stream over int16 samples, or nothing when the rates are equal."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self._rates = (in_rate, out_rate)
        self._stream = self._new() if in_rate != out_rate else None

    def _new(self) -> soxr.ResampleStream:
        return soxr.ResampleStream(*self._rates, 1, dtype="int16", quality=_QUALITY)

    def __call__(self, samples: Samples, *, last: bool = False) -> Samples:
        if self._stream is None:
            return samples
        out: Samples = self._stream.resample_chunk(samples, last=last)
        if last:
            # soxr ends the stream on ``last``; start a fresh one for the next turn.
            self.reset()
        return out

    def reset(self) -> None:
        # A new stream rather than ``clear()``: soxr's int16 rounding keeps state that
        # ``clear()`` does not reset, and a fresh stream (tens of µs, once per turn) makes
        # the output after a reset identical to a new converter's.
        if self._stream is not None:
            self._stream = self._new()


class _Pcm16Framer:
    """Turns a byte stream of PCM16 into whole samples, carrying an odd trailing byte."""

    def __init__(self) -> None:
        self._carry = _EMPTY

    def samples(self, data: bytes) -> Samples:
        if self._carry:
            data = self._carry + data
            self._carry = _EMPTY
        if len(data) % 2:
            self._carry = data[-1:]
            data = data[:-1]
        return np.frombuffer(data, dtype="<i2")

    def whole(self, data: bytes) -> bytes:
        """Like ``samples`` but as bytes, for pass-through: no copy in the common case."""
        if not self._carry and len(data) % 2 == 0:
            return data
        return self.samples(data).tobytes()

    @property
    def pending(self) -> bool:
        return bool(self._carry)

    def reset(self) -> None:
        self._carry = _EMPTY


def _provider_format(client: AudioFormat, rate: int, encoding: Encoding) -> AudioFormat:
    provider = AudioFormat(encoding, rate)
    if encoding != "pcm16" and provider != client:
        # G.711 reaches a provider only as the client's own bytes: nothing converts to it.
        raise ValueError(f"no conversion from {client} to {provider}")
    return provider


def _decode(encoding: str, data: bytes) -> Samples:
    if encoding == "g711_ulaw":
        return g711.ulaw_decode(data)
    return g711.alaw_decode(data)


def _encode(encoding: str, samples: Samples) -> bytes:
    if encoding == "pcm16":
        return samples.astype("<i2", copy=False).tobytes()
    if encoding == "g711_ulaw":
        return g711.ulaw_encode(samples)
    return g711.alaw_encode(samples)


class InputConverter:
    """Client audio (any ``AudioFormat``) → PCM16 mono at ``provider_rate``, or the
    client's bytes as they are when the provider takes its format (``provider_encoding``
    G.711: the client's own).

    ``feed`` returns whatever output is ready (possibly ``b""`` while the resampler fills);
    ``flush`` drains the resampler at the end of a turn (on commit); ``reset`` drops
    everything buffered (``input_audio_buffer.clear``).
    """

    def __init__(
        self, client_format: AudioFormat, provider_rate: int, provider_encoding: Encoding = "pcm16"
    ) -> None:
        self.client_format = client_format
        self.provider_rate = provider_rate
        self._passthrough = client_format == _provider_format(
            client_format, provider_rate, provider_encoding
        )
        self._g711_through = self._passthrough and provider_encoding != "pcm16"
        self._framer = _Pcm16Framer()
        self._resample = _Resampler(client_format.sample_rate, provider_rate)

    def feed(self, data: bytes) -> bytes:
        if self._g711_through:
            return data  # a byte a sample: nothing to frame
        if self._passthrough:
            return self._framer.whole(data)
        if self.client_format.encoding == "pcm16":
            samples = self._framer.samples(data)
        else:
            samples = _decode(self.client_format.encoding, data)
        if not samples.size:
            return _EMPTY
        return self._resample(samples).tobytes()

    def flush(self) -> bytes:
        # A lone odd byte at the end cannot be a sample: it is dropped.
        self._framer.reset()
        if self._passthrough:
            return _EMPTY
        return self._resample(np.empty(0, dtype=np.int16), last=True).tobytes()

    def reset(self) -> None:
        self._framer.reset()
        self._resample.reset()


class OutputConverter:
    """Provider PCM16 mono at ``provider_rate`` → the client's ``AudioFormat`` (the
    provider's bytes as they are when it produces the client's G.711 itself:
    ``provider_encoding``).

    ``flush`` at the end of each response drains the resampler's tail; ``reset`` on
    cancellation or barge-in drops it instead, so the next response starts clean.
    """

    def __init__(
        self, provider_rate: int, client_format: AudioFormat, provider_encoding: Encoding = "pcm16"
    ) -> None:
        self.provider_rate = provider_rate
        self.client_format = client_format
        self._passthrough = client_format == _provider_format(
            client_format, provider_rate, provider_encoding
        )
        self._g711_through = self._passthrough and provider_encoding != "pcm16"
        self._framer = _Pcm16Framer()
        self._resample = _Resampler(provider_rate, client_format.sample_rate)

    def feed(self, data: bytes) -> bytes:
        if self._g711_through:
            return data
        if self._passthrough:
            return self._framer.whole(data)
        samples = self._framer.samples(data)
        if not samples.size:
            return _EMPTY
        return _encode(self.client_format.encoding, self._resample(samples))

    def flush(self) -> bytes:
        self._framer.reset()
        if self._passthrough:
            return _EMPTY
        tail = self._resample(np.empty(0, dtype=np.int16), last=True)
        return _encode(self.client_format.encoding, tail) if tail.size else _EMPTY

    def reset(self) -> None:
        self._framer.reset()
        self._resample.reset()


def recode(data: bytes, source: AudioFormat, target: AudioFormat) -> bytes:
    """A whole stretch of audio from ``source`` into ``target`` (any encodings and rates):
    audio kept for one upstream, sent on to another that takes another format."""
    if source == target:
        return data
    if source.encoding == "pcm16":
        samples = _Pcm16Framer().samples(data)
    else:
        samples = _decode(source.encoding, data)
    resample = _Resampler(source.sample_rate, target.sample_rate)
    return _encode(target.encoding, resample(samples, last=True))
