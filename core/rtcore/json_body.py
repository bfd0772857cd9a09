"""A request body (or a part of one) read as a JSON object, or refused saying why.

msgspec reads it: UTF-8 only, no ``NaN`` or ``Infinity``, no number beyond a float's
range (``1e999``), no lone surrogates; JSON nested past msgspec's own guard is refused
rather than recursed into (Python's ``json`` raises ``RecursionError`` there). What it
accepts is then held to ``MAX_DEPTH``, well below what the code that later walks the
object (``json.dumps``, the database's JSON columns) can recurse through.
"""

from __future__ import annotations

from typing import Any

import msgspec

from rtcore.keys.errors import Refusal

# Tool schemas and metadata nest a few levels; nothing a client sends needs more.
MAX_DEPTH = 64

_DECODER = msgspec.json.Decoder()


def json_object(
    data: bytes, *, param: str | None = None, what: str = "The request body"
) -> dict[str, Any]:
    """``data`` decoded, if it is a JSON object; else ``Refusal`` (400 ``invalid_json``,
    ``param`` naming the part it came from)."""
    try:
        value = _DECODER.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        # ValidationError: a number out of a float's range, the only one an untyped
        # decode raises.
        raise Refusal(
            400, "invalid_json", f"{what} is not UTF-8 JSON: {exc}.", param=param
        ) from None
    except RecursionError:
        raise _too_deep(what, param) from None
    if not isinstance(value, dict):
        raise Refusal(400, "invalid_json", f"{what} must be a JSON object.", param=param)
    if depth_over(value, MAX_DEPTH):
        raise _too_deep(what, param)
    return value


def depth_over(value: object, limit: int) -> bool:
    """Whether ``value`` has objects or arrays nested more than ``limit`` deep (walked
    level by level: no recursion, however deep)."""
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
    return False


def _too_deep(what: str, param: str | None) -> Refusal:
    return Refusal(
        400,
        "invalid_json",
        f"{what} is nested too deeply: at most {MAX_DEPTH} levels of objects and arrays.",
        param=param,
    )
