"""Bedrock's bidirectional-stream wire: event-stream frames carrying ``{"bytes": base64}`` chunks.

Framing and CRCs come from ``smithy_aws_event_stream.events``; this module only knows which
headers Bedrock puts on which frame and how the SDK's signed envelopes nest the real events.

This is the emulator's hot path (one input event per audio chunk per session), so the codec's
pieces are called directly: frames are checked on memoryviews of the received data instead of
through a ``BytesIO`` copy, header blocks that repeat byte for byte (every ``chunk`` event has
the same three headers) are decoded once per stream, constant output headers are encoded once,
and ``audioInput`` events are decoded by msgspec into a typed struct whose ``content`` it
base64-decodes in C.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec
from smithy_aws_event_stream.events import (
    HEADER_VALUE,
    EventHeaderDecoder,
    EventHeaderEncoder,
    EventMessage,
    EventPrelude,
    _EventEncoder,
    _validate_checksum,
)
from smithy_aws_event_stream.exceptions import InvalidEventBytes

from .errors import BedrockError

_PRELUDE = 12
# Prelude (12 bytes) plus the trailing message CRC (4 bytes).
_OVERHEAD = 16
_LENGTHS = struct.Struct("!II")
_CRC = struct.Struct("!I")
# Distinct constant header blocks seen on one stream (the SDK's inner events use one).
_HEADER_CACHE_SIZE = 8
_SIGNATURE = ":chunk-signature"

_json_encoder = msgspec.json.Encoder()
_json_decoder = msgspec.json.Decoder()
_frame_encoder = _EventEncoder()

type Headers = Mapping[str, HEADER_VALUE]


class _Chunk(msgspec.Struct):
    bytes: str


class _BinaryChunk(msgspec.Struct):
    # msgspec decodes the base64 in C, as strictly as b64decode(validate=True).
    data: bytes = msgspec.field(name="bytes")


class AudioInput(msgspec.Struct):
    """A decoded ``audioInput`` event; ``content`` is the PCM, already base64-decoded."""

    promptName: str
    contentName: str
    content: bytes


class _AudioEvent(msgspec.Struct, forbid_unknown_fields=True):
    audioInput: AudioInput


class _AudioDocument(msgspec.Struct):
    event: _AudioEvent


_chunk_decoder = msgspec.json.Decoder(_Chunk)
_binary_chunk_decoder = msgspec.json.Decoder(_BinaryChunk)
_audio_decoder = msgspec.json.Decoder(_AudioDocument)


def _encode_headers(headers: Headers) -> bytes:
    encoder = EventHeaderEncoder()
    encoder.encode_headers(headers)
    return encoder.get_result()


_CHUNK_HEADERS = _encode_headers(
    {":message-type": "event", ":event-type": "chunk", ":content-type": "application/json"}
)


def _decode_frame(frame: memoryview, cache: dict[bytes, Headers] | None = None) -> EventMessage:
    """One complete message, checked as ``Event.decode`` checks it (prelude CRC, length limits,
    message CRC) but without copying the frame; ``cache`` keeps decoded constant header blocks."""
    if len(frame) < _OVERHEAD:
        raise InvalidEventBytes()
    total, headers_length = _LENGTHS.unpack_from(frame)
    (prelude_crc,) = _CRC.unpack_from(frame, 8)
    _validate_checksum(frame[:8], prelude_crc)  # type: ignore[arg-type]
    EventPrelude(total_length=total, headers_length=headers_length, crc=prelude_crc)
    if total != len(frame) or headers_length > total - _OVERHEAD:
        raise InvalidEventBytes()
    (crc,) = _CRC.unpack_from(frame, total - 4)
    _validate_checksum(frame[8 : total - 4], crc, prelude_crc)  # type: ignore[arg-type]
    end = _PRELUDE + headers_length
    raw = bytes(frame[_PRELUDE:end])
    headers = cache.get(raw) if cache is not None else None
    if headers is None:
        headers = EventHeaderDecoder(raw).decode_headers()
        # Signed envelopes carry a fresh date and signature each time: never worth keeping.
        if cache is not None and len(cache) < _HEADER_CACHE_SIZE and _SIGNATURE not in headers:
            cache[raw] = headers
    return EventMessage(headers=headers, payload=bytes(frame[end : total - 4]))


class FrameDecoder:
    """Splits a byte stream into event-stream messages (CRC-checked by the smithy codec)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._headers: dict[bytes, Headers] = {}

    def feed(self, data: bytes) -> Iterator[EventMessage]:
        if self._buffer:
            self._buffer += data
            data = bytes(self._buffer)
            self._buffer.clear()
        view = memoryview(data)
        start, size = 0, len(data)
        while size - start >= _PRELUDE:
            # The first prelude field is the total length; the codec validates the rest.
            total = int.from_bytes(view[start : start + 4], "big")
            if total < _OVERHEAD:
                raise InvalidEventBytes()
            if size - start < total:
                break
            message = _decode_frame(view[start : start + total], self._headers)
            start += total
            yield message
        if start < size:
            self._buffer += view[start:]

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def unwrap(self, message: EventMessage) -> EventMessage | None:
        """:func:`unwrap`, reusing this stream's decoded headers."""
        return unwrap(message, self._headers)


def unwrap(message: EventMessage, cache: dict[bytes, Headers] | None = None) -> EventMessage | None:
    """The event inside a SigV4 signature envelope; None for the empty end-of-input envelope.

    The SDK signs every frame by wrapping it: the outer message carries ``:date`` and
    ``:chunk-signature`` and its payload is the inner message. Signatures are not checked.
    """
    if _SIGNATURE not in message.headers:
        return message
    payload = message.payload
    if not payload:
        return None
    if len(payload) < _OVERHEAD:
        raise InvalidEventBytes()
    total = int.from_bytes(payload[:4], "big")
    if total < _OVERHEAD or total > len(payload):
        raise InvalidEventBytes()
    # Like Event.decode, anything after the first message in the envelope is ignored.
    return _decode_frame(memoryview(payload)[:total], cache)


def chunk_json(message: EventMessage) -> Any:
    """The Nova Sonic JSON document carried by an input ``chunk`` event.

    An ``audioInput`` event whose content is valid base64 comes back as an :class:`AudioInput`
    (the validator accepts both forms); anything else as the decoded JSON document.
    """
    headers = message.headers
    if headers.get(":message-type") != "event" or headers.get(":event-type") != "chunk":
        raise BedrockError(
            "ValidationException",
            f"Unexpected input event type: {headers.get(':event-type')!r}.",
        )
    try:
        document = _binary_chunk_decoder.decode(message.payload).data
    except msgspec.DecodeError:
        return _chunk_json_slow(message.payload)
    try:
        return _audio_decoder.decode(document).event.audioInput
    except msgspec.DecodeError:
        pass  # another event, or audio the generic path rejects or ignores as it always did
    try:
        return _json_decoder.decode(document)
    except msgspec.DecodeError as exc:
        raise BedrockError("ValidationException", f"Malformed input chunk: {exc}") from None


def _chunk_json_slow(payload: bytes) -> Any:
    # The error messages of malformed chunks, as the plain decoders word them.
    try:
        chunk = _chunk_decoder.decode(payload)
        return _json_decoder.decode(base64.b64decode(chunk.bytes, validate=True))
    except (msgspec.DecodeError, ValueError) as exc:
        raise BedrockError("ValidationException", f"Malformed input chunk: {exc}") from None


def encode_chunk(document: Any) -> bytes:
    """One output ``chunk`` frame carrying a Nova Sonic JSON event."""
    body = _json_encoder.encode(document)
    payload = b'{"bytes":"' + base64.b64encode(body) + b'"}'
    return _frame_encoder.encode_bytes(headers=_CHUNK_HEADERS, payload=payload)


def encode_exception(error: BedrockError) -> bytes:
    """A modelled exception frame; the SDK maps ``:exception-type`` (the lower-camel union member
    name, e.g. ``validationException``) to the exception class it raises."""
    member = error.name[0].lower() + error.name[1:]
    return EventMessage(
        headers={
            ":message-type": "exception",
            ":exception-type": member,
            ":content-type": "application/json",
        },
        payload=_json_encoder.encode(error.body()),
    ).encode()


def encode_error_body(error: BedrockError) -> bytes:
    return _json_encoder.encode(error.body())
