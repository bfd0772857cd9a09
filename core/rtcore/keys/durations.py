"""LiteLLM's duration strings: ``30s``, ``10m``, ``24h``, ``30d``, ``1w``, ``1mo``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "mo": 2592000}
_PATTERN = re.compile(r"^\s*(\d{1,12})\s*(mo|s|m|h|d|w)\s*$")
# A key's lifetime or budget period, at most: far beyond any real one, and well inside
# what a date can hold when added to now.
MAX_SECONDS = 100 * 365 * 86400


def parse(text: str) -> timedelta:
    """A duration of 1 s to 100 years; ``ValueError`` naming the accepted forms otherwise."""
    match = _PATTERN.match(text)
    if match is None:
        raise ValueError(
            f"{text[:40]!r} is not a duration: use a number and a unit, s, m, h, d, w or mo "
            "(for example 30d)"
        )
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not 1 <= seconds <= MAX_SECONDS:
        raise ValueError(f"{text.strip()!r} is out of range: from 1s to 100 years (36500d)")
    return timedelta(seconds=seconds)
