"""Rows of rtcore's own tables and the shapes its HTTP answers give them: a key as
``/key/info`` and ``/key/list`` show it (LiteLLM's field names), a session's record as a
``spend_logs`` row, and that row as LiteLLM's ``/spend/logs`` lists it. LiteLLM's own
tables have theirs in ``rtcore.keys.litellm_rows``."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from rtcore.keys import key_fields
from rtcore.keys.usage import SessionRecord, mcp_metadata


def utc(value: datetime.datetime | None) -> datetime.datetime | None:
    # SQLite gives back naive datetimes: they were written in UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=datetime.UTC)


def iso(value: datetime.datetime | None) -> str | None:
    value = utc(value)
    return value.isoformat() if value is not None else None


def key_info(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "token": row["token"],
        "key_name": row["key_name"],
        "key_alias": row["key_alias"],
        "models": row["models"],
        "max_parallel_requests": row["max_parallel_requests"],
        "max_budget": row["max_budget"],
        "budget_duration": row["budget_duration"],
        "budget_reset_at": iso(row["budget_reset_at"]),
        "spend": row["spend"],
        "expires": iso(row["expires"]),
        "metadata": row["metadata"],
        "blocked": row["blocked"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        **key_fields.shown(row),
    }


def record_row(record: SessionRecord) -> dict[str, Any]:
    usage = record.usage
    return {
        "request_id": record.request_id,
        "api_key": record.key_hash or "master",
        "key_alias": record.key_alias,
        "model": record.model,
        "model_group": record.model_group,
        "deployment": record.deployment,
        "start_time": record.start_time,
        "end_time": record.end_time,
        "end_reason": record.end_reason,
        "audio_seconds_in": record.audio_seconds_in,
        "audio_seconds_out": record.audio_seconds_out,
        "input_text_tokens": usage.input_text_tokens,
        "input_audio_tokens": usage.input_audio_tokens,
        "output_text_tokens": usage.output_text_tokens,
        "output_audio_tokens": usage.output_audio_tokens,
        "spend": record.spend,
        "metadata": mcp_metadata(record),
    }


def spend_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A row in LiteLLM's spend-log shape (``/spend/logs``), the realtime figures in its
    metadata."""
    prompt = row["input_text_tokens"] + row["input_audio_tokens"]
    completion = row["output_text_tokens"] + row["output_audio_tokens"]
    return {
        "request_id": row["request_id"],
        "call_type": "realtime",
        "api_key": row["api_key"],
        "spend": row["spend"],
        "total_tokens": prompt + completion,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "startTime": iso(row["start_time"]),
        "endTime": iso(row["end_time"]),
        "model": row["model"],
        "model_group": row["model_group"],
        "custom_llm_provider": row["deployment"],
        "status": "success" if row["end_reason"] == "client_closed" else "failure",
        "metadata": {
            "user_api_key_alias": row["key_alias"],
            "end_reason": row["end_reason"],
            "audio_seconds_in": row["audio_seconds_in"],
            "audio_seconds_out": row["audio_seconds_out"],
            "input_text_tokens": row["input_text_tokens"],
            "input_audio_tokens": row["input_audio_tokens"],
            "output_text_tokens": row["output_text_tokens"],
            "output_audio_tokens": row["output_audio_tokens"],
            **(row["metadata"] or {}),
        },
    }
