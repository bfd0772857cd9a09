"""LiteLLM's duration strings: ``30s``, ``10m``, ``24h``, ``30d``, ``1w``, ``1mo``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "mo": 2592000}
_PATTERN = re.compile(r"^\s*(\d+)\s*(mo|s|m|h|d|w)\s*$")


def parse(text: str) -> timedelta:
    """A duration; ``ValueError`` naming the accepted forms otherwise."""
    match = _PATTERN.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration: use a number and a unit, s, m, h, d, w or mo "
            "(for example 30d)"
        )
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
