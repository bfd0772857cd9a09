"""A session as rows of LiteLLM's own tables: its spend log row, and its share of the
daily aggregates LiteLLM's usage pages read (``LiteLLM_DailyUserSpend`` and
``LiteLLM_DailyTeamSpend``), written as LiteLLM's spend writer adds a request to them."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from rtcore.keys.usage import SessionRecord, mcp_metadata

# LiteLLM's call type for its realtime endpoint: voice rows group with its own.
CALL_TYPE = "_arealtime"
# LiteLLM's daily aggregate tables this writes, by the column naming whose day it is.
DAILY_TABLES = {"LiteLLM_DailyUserSpend": "user_id", "LiteLLM_DailyTeamSpend": "team_id"}
# One day's row of one owner takes turns on this advisory lock: the unique index LiteLLM
# declares cannot stop a second insert where a key column is NULL (PostgreSQL's NULLs are
# distinct), and replicas may end sessions of one key at once.
DAILY_LOCK = 0x72746464  # "rtdd"


def for_column(value: datetime.datetime, column: sa.Column[Any]) -> datetime.datetime:
    """A moment as ``column`` stores it (Prisma's DateTime: UTC without a time zone)."""
    value = value.astimezone(datetime.UTC)
    return value if getattr(column.type, "timezone", False) else value.replace(tzinfo=None)


def spend_log_row(
    record: SessionRecord,
    *,
    api_key: str,
    team_id: str | None,
    user_id: str | None,
    table: sa.Table,
) -> dict[str, Any]:
    """A session as LiteLLM logs a request: tokens as prompt (input) and completion
    (output), the realtime figures in its metadata; only the columns this LiteLLM has."""
    usage = record.usage
    prompt = usage.input_text_tokens + usage.input_audio_tokens
    completion = usage.output_text_tokens + usage.output_audio_tokens
    success = record.end_reason == "client_closed"
    row: dict[str, Any] = {
        "request_id": record.request_id,
        "call_type": CALL_TYPE,
        "api_key": api_key,
        "spend": record.spend,
        "total_tokens": prompt + completion,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "startTime": for_column(record.start_time, table.c["startTime"]),
        "endTime": for_column(record.end_time, table.c["endTime"]),
        "request_duration_ms": round((record.end_time - record.start_time).total_seconds() * 1000),
        "model": record.model,
        "model_id": record.deployment,
        "model_group": record.model_group,
        "user": user_id or "",
        "team_id": team_id,
        "session_id": record.request_id,
        "status": "success" if success else "failure",
        "metadata": {
            "user_api_key": api_key,
            "user_api_key_alias": record.key_alias,
            "user_api_key_team_id": team_id,
            "user_api_key_user_id": user_id,
            "status": "success" if success else "failure",
            "end_reason": record.end_reason,
            "audio_seconds_in": record.audio_seconds_in,
            "audio_seconds_out": record.audio_seconds_out,
            "input_text_tokens": usage.input_text_tokens,
            "input_audio_tokens": usage.input_audio_tokens,
            "output_text_tokens": usage.output_text_tokens,
            "output_audio_tokens": usage.output_audio_tokens,
            **mcp_metadata(record),
        },
    }
    return {name: value for name, value in row.items() if name in table.c}


async def add_to_day(
    conn: AsyncConnection,
    table: sa.Table,
    owner: str,
    owner_id: str,
    log_row: dict[str, Any],
    record: SessionRecord,
) -> None:
    """Add the session to its owner's row of the day (its start's UTC date) for its key,
    model and provider: one request, successful or failed, its tokens and spend."""
    day = record.start_time.astimezone(datetime.UTC).date().isoformat()
    key: dict[str, Any] = {
        owner: owner_id,
        "date": day,
        "api_key": log_row["api_key"],
        "model": record.model,
        "custom_llm_provider": record.provider,
    }
    # Columns of newer releases that no realtime session fills.
    key |= {name: None for name in ("mcp_namespaced_tool_name", "endpoint") if name in table.c}
    success = log_row.get("status", "success") == "success"
    counts = {
        "prompt_tokens": log_row.get("prompt_tokens", 0),
        "completion_tokens": log_row.get("completion_tokens", 0),
        "spend": record.spend,
        "api_requests": 1,
        "successful_requests": 1 if success else 0,
        "failed_requests": 0 if success else 1,
    }
    counts = {name: value for name, value in counts.items() if name in table.c}
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    identity = "|".join(str(value) for value in key.values())
    await conn.execute(
        sa.select(sa.func.pg_advisory_xact_lock(DAILY_LOCK, sa.func.hashtext(identity)))
    )
    changed = await conn.execute(
        sa.update(table)
        .where(*(table.c[name].is_not_distinct_from(value) for name, value in key.items()))
        .values(
            **{name: table.c[name] + value for name, value in counts.items()},
            **({"updated_at": now} if "updated_at" in table.c else {}),
        )
    )
    if changed.rowcount == 0:
        row = {
            "id": str(uuid.uuid4()),
            **key,
            **counts,
            "model_group": record.model_group,
            "created_at": now,
            "updated_at": now,
        }
        await conn.execute(
            sa.insert(table).values(**{n: v for n, v in row.items() if n in table.c})
        )
