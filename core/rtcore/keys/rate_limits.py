"""A key's ``rpm_limit`` (realtime sessions opened per minute) and ``tpm_limit`` (tokens its
sessions use per minute), held across every process sharing the database.

Minutes are fixed windows (``12:04:00`` to ``12:05:00`` UTC), as LiteLLM's limiter counts
them. A session counts once, when it is let in, against ``rpm_limit``; its tokens count
against ``tpm_limit`` in the minute it ends (written with its record, in the same
transaction as its spend), and while a key's tokens this minute reach its ``tpm_limit`` no
new session of it is let in until the next minute. A live session also counts its own
tokens per minute as its responses end (``rtcore.keys.usage.Meter``), on top of what the
key had recorded in the minute it opened, and ends at the turn boundary where they reach
the limit. Everything here runs inside the key's admission (its row locked), or inside a
session's record: nothing on the audio path.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from rtcore.keys.errors import Refusal
from rtcore.keys.schema import key_minutes


def minute_of(when: datetime.datetime) -> datetime.datetime:
    return when.replace(second=0, microsecond=0)


def _insert(conn: AsyncConnection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


async def admit(
    conn: AsyncConnection, row: Mapping[Any, Any], label: str, now: datetime.datetime
) -> int:
    """Count a session of the key in ``row`` (locked by the caller) in this minute, or
    ``Refusal`` (429 ``rate_limit_exceeded``) when its limits are reached; the tokens the
    key's sessions used this minute."""
    rpm, tpm = row["rpm_limit"], row["tpm_limit"]
    if rpm is None and tpm is None:
        return 0
    token = row["token"]
    minute = minute_of(now)
    # Past minutes count no more: each key keeps at most its current one.
    await conn.execute(
        sa.delete(key_minutes).where(key_minutes.c.token == token, key_minutes.c.minute < minute)
    )
    current = (
        await conn.execute(
            sa.select(key_minutes.c.sessions, key_minutes.c.tokens).where(
                key_minutes.c.token == token, key_minutes.c.minute == minute
            )
        )
    ).first()
    sessions, tokens = (current.sessions, current.tokens) if current is not None else (0, 0)
    resets = (minute + datetime.timedelta(minutes=1)).isoformat()
    if rpm is not None and sessions >= rpm:
        raise Refusal(
            429,
            "rate_limit_exceeded",
            f"Rate limit exceeded: {label} opened {sessions} session(s) this minute of "
            f"rpm_limit={rpm} (sessions per minute). The limit resets at {resets}.",
            type="rate_limit_error",
        )
    if tpm is not None and tokens >= tpm:
        raise Refusal(
            429,
            "rate_limit_exceeded",
            f"Rate limit exceeded: {label}'s sessions used {tokens} tokens this minute of "
            f"tpm_limit={tpm} (tokens per minute). The limit resets at {resets}.",
            type="rate_limit_error",
        )
    insert = _insert(conn)(key_minutes).values(token=token, minute=minute, sessions=1, tokens=0)
    await conn.execute(
        insert.on_conflict_do_update(
            index_elements=["token", "minute"],
            set_={"sessions": key_minutes.c.sessions + 1},
        )
    )
    return int(tokens)


async def add_tokens(
    conn: AsyncConnection, token: str, tokens: int, when: datetime.datetime
) -> None:
    """A session of the key ``token`` used ``tokens``, counted in the minute of ``when``."""
    if tokens <= 0:
        return
    insert = _insert(conn)(key_minutes).values(
        token=token, minute=minute_of(when), sessions=0, tokens=tokens
    )
    await conn.execute(
        insert.on_conflict_do_update(
            index_elements=["token", "minute"],
            set_={"tokens": key_minutes.c.tokens + tokens},
        )
    )


async def move(conn: AsyncConnection, old: str, new: str) -> None:
    """A key's counts follow it to its new secret (``/key/regenerate``)."""
    await conn.execute(sa.update(key_minutes).where(key_minutes.c.token == old).values(token=new))


async def forget(conn: AsyncConnection, token: str) -> None:
    await conn.execute(sa.delete(key_minutes).where(key_minutes.c.token == token))
