"""Whether one of rtcore's own keys may be used now: not blocked, not expired, allowed the
model, its budget not spent in this budget period; refused with LiteLLM's codes and words.
Keys on LiteLLM's database have theirs in ``rtcore.keys.litellm_standing``."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from rtcore.keys import key_fields
from rtcore.keys.errors import Refusal
from rtcore.keys.rows import utc


def label(row: Mapping[Any, Any]) -> str:
    return f"Key={row['key_alias'] or row['key_name']}"


def period_over(row: Mapping[Any, Any], now: datetime.datetime) -> bool:
    reset_at = utc(row["budget_reset_at"])
    return reset_at is not None and bool(row["budget_duration"]) and reset_at <= now


def usable(
    row: Mapping[Any, Any], now: datetime.datetime, model: str | None
) -> tuple[float, float | None]:
    """The key's spend this budget period and its budget, or ``Refusal`` (LiteLLM's codes
    and words) when it may not be used now."""
    name = label(row)
    if row["blocked"]:
        raise Refusal(401, "key_blocked", f"This key is blocked ({name}).")
    expires = utc(row["expires"])
    if expires is not None and expires <= now:
        raise Refusal(
            401,
            "key_expired",
            f"Authentication Error - Expired Key. {name} expired at {expires.isoformat()}.",
        )
    if model is not None:
        key_fields.may_open_sessions(row)
    if model is not None and row["models"] and model not in row["models"]:
        raise Refusal(
            403,
            "model_not_allowed",
            f"key not allowed to access model. This key can only access "
            f"models={row['models']}. Tried to access {model}.",
        )
    spend = 0.0 if period_over(row, now) else float(row["spend"])
    budget = row["max_budget"]
    if budget is not None and spend >= budget:
        raise Refusal(
            429,
            "budget_exceeded",
            f"Budget has been exceeded! {name} Current cost: {spend}, Max budget: {budget}",
            type="budget_exceeded",
        )
    return spend, budget
