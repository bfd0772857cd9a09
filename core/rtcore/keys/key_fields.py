"""A key's fields (LiteLLM's names), checked as ``/key/generate``, ``/key/update`` and
``/key/regenerate`` take them: its models, parallel limit, budget and budget period,
lifetime, alias, metadata and blocking; a key chosen by the operator, the team and user a
key is for, its tags and type, and its per-minute rate limits. Each refusal names its field
in ``param``."""

from __future__ import annotations

import contextlib
import datetime
import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from rtcore.keys import durations
from rtcore.keys.errors import Refusal, invalid

# LiteLLM's key types. "llm_api" and "default" keys open sessions; "management" and
# "read_only" keys are for admin and info routes, which in rtcore are the key's own
# /key/info (the admin API takes the master key only).
KEY_TYPES = ("default", "llm_api", "management", "read_only")
SESSION_KEY_TYPES = frozenset({"default", "llm_api"})
OWNER_FIELDS = ("team_id", "user_id")
MAX_OWNER = 256
MAX_TAGS = 100
MAX_TAG = 256
MAX_RPM = 1_000_000
MAX_TPM = 10**12
# A key chosen by the operator: LiteLLM's "sk-" prefix, then the characters of the keys
# LiteLLM and rtcore generate (URL-safe base64), which every door takes unchanged (a bearer
# token, an ``api-key`` header, a WebSocket subprotocol, a URL's path) and the log knows
# for a key's.
KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_-]{1,253}")
# What /key/generate and /key/update take (LiteLLM's names); others are refused by name.
FIELDS = {
    "models",
    "max_parallel_requests",
    "max_budget",
    "budget_duration",
    "duration",
    "key_alias",
    "metadata",
    "blocked",
    "team_id",
    "user_id",
    "tags",
    "key_type",
    "rpm_limit",
    "tpm_limit",
}
# LiteLLM fields rtcore does not enforce: refused, never silently ignored.
NOT_ENFORCED = {"soft_budget", "aliases"}
# Bounds on what a key may say (the columns' sizes; counts beyond any real use).
MAX_PARALLEL_REQUESTS = 1_000_000
MAX_NAME = 256
MAX_MODELS = 1000
# Characters an alias, a team or a user may not hold: they are written into log lines,
# which these would break or forge (control characters, line and paragraph separators).
_LINE_BREAKING = {"Cc", "Zl", "Zp"}


def checked(body: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """The columns a /key/generate or /key/update body sets (``tags`` under its own
    name), each checked; a field of another name is refused before any is looked at."""
    _refuse_unknown(body, creating=creating)
    out = values(body)
    if "models" in body:
        out["models"] = _models(body["models"])
    if "max_parallel_requests" in body:
        out["max_parallel_requests"] = _parallel(body["max_parallel_requests"])
    if "max_budget" in body:
        out["max_budget"] = _budget(body["max_budget"])
    out |= _periods(body, datetime.datetime.now(datetime.UTC))
    if "key_alias" in body:
        out["key_alias"] = _alias(body["key_alias"])
    if "metadata" in body:
        metadata = {} if body["metadata"] is None else body["metadata"]
        if not isinstance(metadata, dict):
            raise invalid("metadata", "an object")
        out["metadata"] = metadata
    if "blocked" in body:
        blocked = body["blocked"]
        if blocked is not None and not isinstance(blocked, bool):
            raise invalid("blocked", "true or false")
        out["blocked"] = bool(blocked)
    return out


def _refuse_unknown(body: Mapping[str, Any], *, creating: bool) -> None:
    unknown = set(body) - FIELDS - ({"key"} if not creating else set())
    if unknown & NOT_ENFORCED:
        refused = sorted(unknown & NOT_ENFORCED)
        raise Refusal(
            400,
            "unsupported_parameter",
            f"rtcore does not enforce {', '.join(refused)} on keys; "
            "remove them (see docs/keys.md for what it does enforce).",
            param=refused[0],
        )
    if unknown:
        names = sorted(unknown)
        raise Refusal(
            400,
            "unknown_parameter",
            f"Unknown key field(s): {', '.join(n[:64] for n in names[:5])}.",
            param=names[0][:64],
        )


def _models(value: Any) -> list[str]:
    models = [] if value is None else value
    if (
        not isinstance(models, list)
        or len(models) > MAX_MODELS
        or not all(isinstance(m, str) and 0 < len(m) <= MAX_NAME for m in models)
    ):
        raise invalid("models", f"a list of at most {MAX_MODELS} model names")
    return models


def _parallel(value: Any) -> int | None:
    if value is not None and (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not 1 <= value <= MAX_PARALLEL_REQUESTS
    ):
        raise invalid(
            "max_parallel_requests",
            f"a whole number from 1 to {MAX_PARALLEL_REQUESTS:,}, or null for no limit",
        )
    return value


def _budget(value: object) -> float | None:
    """A budget in USD: a finite number, 0 or more (a NaN would never bind, an infinite
    one is no budget: null says that)."""
    if value is None:
        return None
    budget = math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):  # an int past a float's range
            budget = float(value)
    if not (math.isfinite(budget) and budget >= 0):
        raise invalid("max_budget", "a finite number of USD, 0 or more, or null for no budget")
    return budget


def _periods(body: Mapping[str, Any], now: datetime.datetime) -> dict[str, Any]:
    """``budget_duration`` (with the budget period's end) and ``duration`` (the key's
    expiry; ``"permanent"`` or null: none)."""
    out: dict[str, Any] = {}
    for name in ("budget_duration", "duration"):
        if name not in body:
            continue
        value = body[name]
        if value is not None and (not isinstance(value, str) or len(value) > 16):
            raise invalid(name, "a duration such as 30d (s, m, h, d, w or mo), or null")
        if value is None or (name == "duration" and value == "permanent"):
            period = None
        else:
            try:
                period = durations.parse(value)
            except ValueError as exc:
                raise Refusal(400, "invalid_value", str(exc), param=name) from None
        if name == "budget_duration":
            out["budget_duration"] = value
            out["budget_reset_at"] = None if period is None else now + period
        else:
            out["expires"] = None if period is None else now + period
    return out


def _alias(alias: Any) -> str | None:
    if alias is not None and (
        not isinstance(alias, str)
        or not 0 < len(alias) <= MAX_NAME
        or any(unicodedata.category(c) in _LINE_BREAKING for c in alias)
    ):
        raise invalid("key_alias", f"a string of 1 to {MAX_NAME} printable characters")
    return alias


def custom_key(value: object) -> str:
    """The key an operator carries over (``key`` on ``/key/generate``, ``new_key`` on
    ``/key/regenerate``); the refusal never repeats it."""
    if not isinstance(value, str) or KEY_PATTERN.fullmatch(value) is None:
        shown = (
            f"{value[:4]}****{value[-4:]}" if isinstance(value, str) and len(value) > 8 else "****"
        )
        raise Refusal(
            400,
            "invalid_value",
            "Invalid key format. A virtual key must start with 'sk-' followed by 1 to 253 "
            f"letters, digits, '_' or '-' (received {shown}).",
            param="key",
        )
    return value


def values(body: Mapping[str, Any]) -> dict[str, Any]:
    """The columns ``team_id``, ``user_id``, ``key_type``, ``rpm_limit`` and ``tpm_limit``
    of a body, each checked; ``tags`` under its own name (kept in the key's metadata, as
    LiteLLM keeps them)."""
    out: dict[str, Any] = {}
    for name in OWNER_FIELDS:
        if name in body:
            value = body[name]
            if value is not None and (
                not isinstance(value, str)
                or not 0 < len(value) <= MAX_OWNER
                or any(unicodedata.category(c) in _LINE_BREAKING for c in value)
            ):
                raise invalid(name, f"a string of 1 to {MAX_OWNER} printable characters, or null")
            out[name] = value
    if "key_type" in body:
        kind = body["key_type"]
        if kind is not None and kind not in KEY_TYPES:
            raise invalid("key_type", f"one of {', '.join(KEY_TYPES)}, or null")
        out["key_type"] = None if kind in (None, "default") else kind
    for name, top in (("rpm_limit", MAX_RPM), ("tpm_limit", MAX_TPM)):
        if name in body:
            value = body[name]
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top
            ):
                raise invalid(name, f"a whole number from 0 to {top:,}, or null for no limit")
            out[name] = value
    if "tags" in body:
        tags = [] if body["tags"] is None else body["tags"]
        if (
            not isinstance(tags, list)
            or len(tags) > MAX_TAGS
            or not all(isinstance(t, str) and 0 < len(t) <= MAX_TAG for t in tags)
        ):
            raise invalid(
                "tags", f"a list of at most {MAX_TAGS} strings of 1 to {MAX_TAG} characters"
            )
        out["tags"] = tags
    return out


def with_tags(metadata: Mapping[str, Any], tags: list[str] | None) -> dict[str, Any]:
    """``metadata`` holding ``tags`` (None: as it was)."""
    merged = dict(metadata)
    if tags is not None:
        merged["tags"] = tags
    return merged


def shown(row: Mapping[Any, Any]) -> dict[str, Any]:
    """These fields as ``/key/info`` and ``/key/list`` show them."""
    metadata = row["metadata"] or {}
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return {
        "team_id": row["team_id"],
        "user_id": row["user_id"],
        "key_type": row["key_type"] or "default",
        "tags": tags if isinstance(tags, list) else [],
        "rpm_limit": row["rpm_limit"],
        "tpm_limit": row["tpm_limit"],
    }


def may_open_sessions(row: Mapping[Any, Any]) -> None:
    """``Refusal`` for a key whose type is not for model calls (LiteLLM's route check)."""
    kind = row["key_type"] or "default"
    if kind not in SESSION_KEY_TYPES:
        raise Refusal(
            403,
            "key_type_not_allowed",
            f"This key's key_type is {kind!r}: it may not open realtime sessions "
            "(only 'default' and 'llm_api' keys may).",
        )
