"""Bedrock's bidirectional-stream wire: event-stream frames carrying ``{"bytes": base64}`` chunks.

Framing and CRCs come from ``smithy_aws_event_stream.events``; this module only knows which
headers Bedrock puts on which frame and how the SDK's signed envelopes nest the real events.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import msgspec
from smithy_aws_event_stream.events import Event, EventMessage

from .errors import BedrockError

_PRELUDE = 12

_json_encoder = msgspec.json.Encoder()
_json_decoder = msgspec.json.Decoder()


class _Chunk(msgspec.Struct):
    bytes: str


_chunk_decoder = msgspec.json.Decoder(_Chunk)


class FrameDecoder:
    """Splits a byte stream into event-stream messages (CRC-checked by the smithy codec)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[EventMessage]:
        self._buffer += data
        while len(self._buffer) >= _PRELUDE:
            # The first prelude field is the total length; the codec validates the rest.
            total = int.from_bytes(self._buffer[:4], "big")
            if len(self._buffer) < total:
                return
            frame = bytes(self._buffer[:total])
            del self._buffer[:total]
            event = Event.decode(io.BytesIO(frame))
            if event is not None:
                yield event.message

    @property
    def pending(self) -> int:
        return len(self._buffer)


def unwrap(message: EventMessage) -> EventMessage | None:
    """The event inside a SigV4 signature envelope; None for the empty end-of-input envelope.

    The SDK signs every frame by wrapping it: the outer message carries ``:date`` and
    ``:chunk-signature`` and its payload is the inner message. Signatures are not checked.
    """
    if ":chunk-signature" not in message.headers:
        return message
    if not message.payload:
        return None
    event = Event.decode(io.BytesIO(message.payload))
    if event is None:
        raise BedrockError("ValidationException", "Empty signed event.")
    return event.message


def chunk_json(message: EventMessage) -> Any:
    """The Nova Sonic JSON document carried by an input ``chunk`` event."""
    if (
        message.headers.get(":message-type") != "event"
        or message.headers.get(":event-type") != "chunk"
    ):
        raise BedrockError(
            "ValidationException",
            f"Unexpected input event type: {message.headers.get(':event-type')!r}.",
        )
    try:
        chunk = _chunk_decoder.decode(message.payload)
        return _json_decoder.decode(base64.b64decode(chunk.bytes, validate=True))
    except (msgspec.DecodeError, ValueError) as exc:
        raise BedrockError("ValidationException", f"Malformed input chunk: {exc}") from None


def encode_chunk(document: Any) -> bytes:
    """One output ``chunk`` frame carrying a Nova Sonic JSON event."""
    body = _json_encoder.encode(document)
    payload = b'{"bytes":"' + base64.b64encode(body) + b'"}'
    return EventMessage(
        headers={
            ":message-type": "event",
            ":event-type": "chunk",
            ":content-type": "application/json",
        },
        payload=payload,
    ).encode()


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
