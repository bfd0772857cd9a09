"""Turning bad client input into OpenAI-shaped errors.

msgspec reports *what* was wrong and *where* (``- at `$.session.voice```); that maps onto
OpenAI's codes and its dotted ``param``. Decoding is the only place that raises
``RealtimeError`` for malformed input, so handler bugs are never reported as parse errors.
"""

from __future__ import annotations

import re

import msgspec
from msgspec import UNSET

ERROR_TYPE = "invalid_request_error"


class RealtimeError(Exception):
    """An error for the client; the session goes on."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        param: str | None = None,
        event_id: str | None = None,
        type: str = ERROR_TYPE,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.event_id = event_id
        self.type = type


class _Envelope(msgspec.Struct):
    type: object = UNSET
    event_id: object = UNSET


_envelope_decoder = msgspec.json.Decoder(_Envelope)
_EVENT_ID_PREFIX = re.compile(r'"event_id"\s*:\s*"([^"\\]{1,128})"')
_AT = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `(?P<field>[^`]+)`")
_MISSING_FIELD = re.compile(r"Object missing required field `(?P<field>[^`]+)`")
_EXPECTED = re.compile(r"Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`")


def envelope(frame: str) -> tuple[str | None, str | None]:
    """The ``type`` and ``event_id`` of a frame that failed full decoding, if readable."""
    try:
        env = _envelope_decoder.decode(frame)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None, None
    return (
        env.type if isinstance(env.type, str) else None,
        env.event_id if isinstance(env.event_id, str) else None,
    )


def sniff_event_id(frame: str) -> str | None:
    """The event_id of a frame too large to parse, from its first bytes only."""
    match = _EVENT_ID_PREFIX.search(frame[:512])
    return match.group(1) if match else None


def _join(path: str, field: str) -> str:
    return f"{path}.{field}" if path else field


def from_validation_error(
    exc: msgspec.ValidationError,
    event_type: str | None,
    event_id: str | None,
    known: frozenset[str],
) -> RealtimeError:
    text = str(exc)
    at = _AT.search(text)
    path = at.group("path") if at else ""
    what = text[: at.start()] if at else text
    # msgspec paths index arrays as "[0]": OpenAI writes "tools[0].name" too.
    path = path.replace(".[", "[")
    if m := _UNKNOWN_FIELD.match(what):
        param = _join(path, m.group("field"))
        return RealtimeError(
            "unknown_parameter", f"Unknown parameter: '{param}'.", param=param, event_id=event_id
        )
    if m := _MISSING_FIELD.match(what):
        param = _join(path, m.group("field"))
        return RealtimeError(
            "missing_required_parameter",
            f"Missing required parameter: '{param}'.",
            param=param,
            event_id=event_id,
        )
    if path == "type" and what.startswith("Invalid value"):
        supported = ", ".join(sorted(known))
        return RealtimeError(
            "invalid_value",
            f"Invalid value: '{event_type}'. Supported values are: {supported}.",
            param="type",
            event_id=event_id,
        )
    if what.startswith("Invalid base64"):
        return RealtimeError(
            "invalid_value",
            f"Invalid '{path}': expected base64-encoded audio.",
            param=path or None,
            event_id=event_id,
        )
    if m := _EXPECTED.match(what):
        expected, got = m.group("expected"), m.group("got")
        where = f"'{path}'" if path else "event"
        return RealtimeError(
            "invalid_type",
            f"Invalid type for {where}: expected {_readable(expected)}, but got {_readable(got)}.",
            param=path or None,
            event_id=event_id,
        )
    return RealtimeError(
        "invalid_value",
        f"Invalid value for '{path}': {what}." if path else f"Invalid event: {what}.",
        param=path or None,
        event_id=event_id,
    )


def _readable(msgspec_type: str) -> str:
    return {
        "str": "a string",
        "int": "an integer",
        "float": "a number",
        "bool": "a boolean",
        "object": "an object",
        "array": "an array",
        "null": "null",
    }.get(msgspec_type, msgspec_type.replace("`", "'"))
