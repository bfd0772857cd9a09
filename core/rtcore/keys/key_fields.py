"""LiteLLM's key fields beyond budgets and models, checked as ``/key/generate``,
``/key/update`` and ``/key/regenerate`` take them: a key chosen by the operator, the team
and user a key is for, its tags and type, and its per-minute rate limits."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from rtcore.keys.errors import Refusal

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
_LINE_BREAKING = {"Cc", "Zl", "Zp"}


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
                raise _invalid(name, f"a string of 1 to {MAX_OWNER} printable characters, or null")
            out[name] = value
    if "key_type" in body:
        kind = body["key_type"]
        if kind is not None and kind not in KEY_TYPES:
            raise _invalid("key_type", f"one of {', '.join(KEY_TYPES)}, or null")
        out["key_type"] = None if kind in (None, "default") else kind
    for name, top in (("rpm_limit", MAX_RPM), ("tpm_limit", MAX_TPM)):
        if name in body:
            value = body[name]
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top
            ):
                raise _invalid(name, f"a whole number from 0 to {top:,}, or null for no limit")
            out[name] = value
    if "tags" in body:
        tags = [] if body["tags"] is None else body["tags"]
        if (
            not isinstance(tags, list)
            or len(tags) > MAX_TAGS
            or not all(isinstance(t, str) and 0 < len(t) <= MAX_TAG for t in tags)
        ):
            raise _invalid(
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


def _invalid(name: str, what: str) -> Refusal:
    return Refusal(400, "invalid_value", f"{name} must be {what}.", param=name)
