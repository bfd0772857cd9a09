"""The query parameters of the key store's listing endpoints (``/key/list``,
``/spend/logs``), checked as LiteLLM's names them; a bad one is an OpenAI-shaped 400 naming
it in ``param``."""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from rtcore.keys.errors import Refusal


def query_int(query: Mapping[str, str], name: str, default: int, top: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    text = text.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 9 and 1 <= int(text) <= top):
        raise Refusal(
            400,
            "invalid_value",
            f"{name} must be a whole number from 1 to {top:,}.",
            param=name,
        )
    return int(text)


def query_date(query: Mapping[str, str], name: str) -> datetime.datetime | None:
    """``name``'s date or time in UTC (a date or time without a zone is UTC's), None when
    not given."""
    value = query.get(name)
    if not value:
        return None
    try:
        when = datetime.datetime.fromisoformat(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        return when.astimezone(datetime.UTC)
    except (ValueError, OverflowError):
        raise Refusal(
            400,
            "invalid_value",
            f"{name} must be a date, e.g. 2026-12-01.",
            param=name,
        ) from None
