"""Decoding client frames (once, at the edge) and encoding server events."""

from __future__ import annotations

import msgspec

from rtcore.protocol.client import CLIENT_EVENT_TYPES, AnyClientEvent
from rtcore.protocol.errors import (
    RealtimeError,
    envelope,
    from_validation_error,
    sniff_event_id,
)

DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024

# Where an explicit ``null`` means something (it turns the feature off), as in OpenAI's API;
# everywhere else the SDKs' Optional fields send ``null`` for "not given".
MEANINGFUL_NULLS = frozenset(
    {
        "turn_detection",
        "input_audio_transcription",
        "input_audio_noise_reduction",
        "transcription",
        "noise_reduction",
    }
)
# Free-form values (a tool's JSON Schema, metadata, tracing): their nulls are the client's data.
_OPAQUE = frozenset({"parameters", "metadata", "tracing", "prompt", "truncation"})
# ``response.input`` (a list of items) is the client's too; ``audio.input`` is config.
_OPAQUE_LISTS = frozenset({"input"})
_NULL_MARK = "got `null`"


class ClientDecoder:
    def __init__(self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self._decoder = msgspec.json.Decoder(AnyClientEvent)
        self.max_message_bytes = max_message_bytes

    def decode(self, frame: str | bytes) -> AnyClientEvent:
        """Return the typed event, or raise ``RealtimeError`` saying what is wrong."""
        if not isinstance(frame, str):
            raise RealtimeError(
                "invalid_event",
                "Binary frames are not supported: send each event as JSON in a text frame.",
            )
        # msgspec decodes the text itself: measuring must not copy every audio frame, and
        # ASCII (what JSON encoders send) has as many bytes as characters.
        size = len(frame) if frame.isascii() else len(frame.encode())
        if size > self.max_message_bytes:
            raise RealtimeError(
                "message_too_large",
                f"The event is {size} bytes; the limit is {self.max_message_bytes} bytes. "
                "Split audio into smaller input_audio_buffer.append events.",
                event_id=sniff_event_id(frame),
            )
        try:
            event: AnyClientEvent = self._decoder.decode(frame)
            return event
        except msgspec.ValidationError as exc:
            error = exc
        except msgspec.DecodeError as exc:
            raise RealtimeError(
                "invalid_json",
                f"The event could not be parsed as JSON ({exc}). Send one JSON object per frame.",
            ) from None
        except RecursionError:
            raise _too_deep(frame) from None
        if _NULL_MARK in str(error):
            # Rare, so off the fast path: an Optional field sent as null means "absent".
            try:
                cleaned = msgspec.json.encode(without_nulls(msgspec.json.decode(frame)))
                return self._decoder.decode(cleaned)
            except msgspec.ValidationError as exc:
                error = exc
            except msgspec.DecodeError as exc:
                # The typed decoder stopped at its first error; past it the text is not
                # JSON at all (cut short, a broken escape).
                raise RealtimeError(
                    "invalid_json",
                    f"The event could not be parsed as JSON ({exc}). "
                    "Send one JSON object per frame.",
                    event_id=sniff_event_id(frame),
                ) from None
            except RecursionError:
                pass  # nested too deep to clean: report the first error
        try:
            event_type, event_id = envelope(frame)
        except RecursionError:
            raise _too_deep(frame) from None
        raise from_validation_error(error, event_type, event_id, CLIENT_EVENT_TYPES) from None


def _too_deep(frame: str) -> RealtimeError:
    # msgspec's nesting guard: JSON nested thousands deep is no event of OpenAI's.
    return RealtimeError(
        "invalid_json",
        "The event is nested too deeply to parse. Send one JSON object per frame.",
        event_id=sniff_event_id(frame),
    )


def without_nulls(value: object, key: str = "") -> object:
    """A decoded event with every ``null`` that stands for "not given" left out: all but
    those of ``MEANINGFUL_NULLS``, and none inside free-form values."""
    if key in _OPAQUE or (key in _OPAQUE_LISTS and isinstance(value, list)):
        return value
    if isinstance(value, dict):
        return {
            k: without_nulls(v, k)
            for k, v in value.items()
            if v is not None or k in MEANINGFUL_NULLS
        }
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


class ServerEncoder:
    """Encodes server events; one per connection so its buffer is reused."""

    def __init__(self) -> None:
        self._encoder = msgspec.json.Encoder()

    def encode(self, event: msgspec.Struct) -> bytes:
        return self._encoder.encode(event)
