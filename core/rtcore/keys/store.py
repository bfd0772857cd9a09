"""The key store: virtual keys, the leases that count a key's live sessions, spend logs
(and, through ``cooldowns``, the deployment cooldowns every process shares).

One per serving process (each ``--workers`` process, each replica), all sharing one
database. A key's parallel limit holds across all of them: admitting a session takes the
key's row lock (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite ``BEGIN IMMEDIATE``, one
writer at a time), counts the key's unexpired leases and adds one. Each process renews its
live sessions' leases every ``lease_seconds / 3``; a process that dies stops renewing, and
its leases no longer count once ``lease_seconds`` have passed. Nothing here runs per audio
chunk: a session costs one admission and one record.

The database may fail (``rtcore.keys.database``): calls are then refused with
``StoreUnavailable`` (503), and each session's record waits in the spool
(``rtcore.keys.spool``) until the store is back; the renewal, a write every few seconds
(every second while the store is down), is what finds it back, and then writes the spool.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import math
import os
import secrets
import unicodedata
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from rtcore.keys import durations, key_fields, rate_limits
from rtcore.keys.cooldowns import CooldownBoard
from rtcore.keys.database import Database
from rtcore.keys.errors import Refusal, StoreUnavailable
from rtcore.keys.hashing import hash_key
from rtcore.keys.schema import client_secrets, keys, leases, spend_logs
from rtcore.keys.secret_store import DatabaseBook
from rtcore.keys.spool import Spool, SpoolEntry, default_directory
from rtcore.keys.usage import SessionRecord, mcp_metadata

log = logging.getLogger(__name__)

LEASE_SECONDS = 15.0
# While the store is down, how often it is tried again.
RETRY_SECONDS = 1.0
# How long a session's record may take to write before it is left to the spool's retry.
WRITE_SECONDS = 20.0
# A process's heartbeat is a lease of this token, which no key has (tokens are SHA-256
# hex); one not renewed for this long is a process gone, and is swept.
HEARTBEAT_TOKEN = ""
FORGOTTEN = datetime.timedelta(hours=1)
# What /key/generate and /key/update take (LiteLLM's names); others are refused by name.
_KEY_FIELDS = {
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
_NOT_ENFORCED = {"soft_budget", "aliases"}
# Bounds on what a key may say (the columns' sizes; counts beyond any real use).
MAX_PARALLEL_REQUESTS = 1_000_000
MAX_NAME = 256
MAX_MODELS = 1000
MAX_DELETE = 1000
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 100
# Characters an alias may not hold: it is written into log lines, which these would break
# or forge (control characters, line and paragraph separators).
_LINE_BREAKING = {"Cc", "Zl", "Zp"}


class Admission(msgspec.Struct, frozen=True, kw_only=True):
    """A session let in: by the master key (no key hash), or by a virtual key."""

    key_hash: str | None = None
    key_alias: str | None = None
    lease_id: str | None = None
    budget_left: float | None = None
    # The key's tpm_limit, and the tokens its sessions had used in this minute.
    tokens_per_minute: int | None = None
    tokens_before: int = 0
    # Let in by a client secret: the session it was minted with, as a session.update.
    session_update: str | None = None


def _token(key: str) -> str:
    """The stored token of a key given as itself (``sk-...``) or as its token already (what
    ``/key/list`` and the spend log show)."""
    return key if len(key) == 64 and not key.startswith("sk-") else hash_key(key)


def data_dir() -> Path:
    """rtcore's data directory: ``$XDG_DATA_HOME/rtcore``, else ``~/.local/share/rtcore``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rtcore"


def default_url(port: int | None = None) -> str:
    """SQLite in rtcore's data directory, created on first use: ``rtcore-PORT.db`` for the
    server on PORT, so that two servers on one machine never share keys unless told to
    (``rtcore.db`` when no port is given)."""
    name = "rtcore.db" if port is None else f"rtcore-{port}.db"
    return f"sqlite+aiosqlite:///{data_dir() / name}"


def async_url(url: str) -> str:
    """The driver each database needs here, from the URLs operators write
    (``postgresql://…`` as LiteLLM's DATABASE_URL is, ``sqlite:///file``)."""
    for plain, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _utc(value: datetime.datetime | None) -> datetime.datetime | None:
    # SQLite gives back naive datetimes: they were written in UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=datetime.UTC)


def _iso(value: datetime.datetime | None) -> str | None:
    value = _utc(value)
    return value.isoformat() if value is not None else None


def _key_info(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "token": row["token"],
        "key_name": row["key_name"],
        "key_alias": row["key_alias"],
        "models": row["models"],
        "max_parallel_requests": row["max_parallel_requests"],
        "max_budget": row["max_budget"],
        "budget_duration": row["budget_duration"],
        "budget_reset_at": _iso(row["budget_reset_at"]),
        "spend": row["spend"],
        "expires": _iso(row["expires"]),
        "metadata": row["metadata"],
        "blocked": row["blocked"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        **key_fields.shown(row),
    }


class KeyStore:
    def __init__(
        self, db: Database, spool: Spool | None, *, lease_seconds: float = LEASE_SECONDS
    ) -> None:
        self._db = db
        self._spool = spool
        self.lease_seconds = lease_seconds
        self.replica = uuid.uuid4().hex
        self._heartbeat_id = f"r:{self.replica}"  # within the lease id's 36 characters
        # The leases of this process's live sessions: the ones it renews.
        self._live_leases: set[str] = set()
        self._recording: set[asyncio.Task[None]] = set()
        self._flushing = asyncio.Lock()
        self._maintaining: asyncio.Task[None] | None = None
        # Deployment cooldowns, shared with every process of the database (the router's).
        self.cooldowns = CooldownBoard(db, self.replica)

    @classmethod
    async def open(
        cls,
        url: str | None = None,
        *,
        lease_seconds: float = LEASE_SECONDS,
        spool_dir: Path | None = None,
    ) -> KeyStore:
        """Connect, migrate to the newest schema, prove the database takes writes, write
        what an earlier run left in the spool, start renewing this process's leases.
        ``StoreUnavailable`` with the reason when the database or the spool cannot be
        used."""
        url = async_url(url or default_url())
        db = Database(url)
        try:
            await db.open()
            directory = spool_dir or default_directory(url, data_dir())
            spool = Spool(directory) if directory is not None else None
            if spool is not None:
                try:
                    await asyncio.to_thread(spool.check)
                except OSError as exc:
                    raise StoreUnavailable(
                        f"the spool directory {spool.directory} is not writable: "
                        f"{exc.strerror or exc}"
                    ) from None
            store = cls(db, spool, lease_seconds=lease_seconds)
            await store._heartbeat()
        except BaseException:
            await db.dispose()
            raise
        with contextlib.suppress(StoreUnavailable):
            await store.flush()
        store._maintaining = asyncio.create_task(store._maintain(), name="key-store-upkeep")
        store.cooldowns.start()
        return store

    @property
    def problem(self) -> str | None:
        """Why the store cannot be used now (None: it can)."""
        return self._db.problem

    @property
    def spool_directory(self) -> Path | None:
        return self._spool.directory if self._spool is not None else None

    async def aclose(self) -> None:
        """Stop: the records being written finish (bounded: what does not is in the
        spool for the next start), this process's leases go."""
        if self._maintaining is not None:
            self._maintaining.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintaining
        if self._recording:
            await asyncio.wait(set(self._recording), timeout=WRITE_SECONDS)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5), self._db.begin() as conn:
                await conn.execute(sa.delete(leases).where(leases.c.replica == self.replica))
        await self._db.dispose()

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(RETRY_SECONDS if self.problem else self.lease_seconds / 3)
            try:
                await self._heartbeat()
                if self._spool is not None and self._spool.waiting():
                    await self.flush()
            except StoreUnavailable:
                pass  # logged as the store went; tried again next round
            except Exception:  # a bug must not end the upkeep: leases would lapse
                log.exception("the key store's upkeep failed")

    async def _heartbeat(self) -> None:
        """A write, always: this process's own lease (its heartbeat, a lease of no key)
        and its live sessions' leases renewed. Its success is what ends an outage
        (``problem``). No table of its own: releases before and after this one share a
        database."""
        now = _now()
        until = now + datetime.timedelta(seconds=self.lease_seconds)
        async with self._db.begin(probe=True) as conn:
            beat = await conn.execute(
                sa.update(leases).where(leases.c.id == self._heartbeat_id).values(expires_at=until)
            )
            if beat.rowcount == 0:
                await conn.execute(
                    sa.insert(leases).values(
                        id=self._heartbeat_id,
                        token=HEARTBEAT_TOKEN,
                        replica=self.replica,
                        expires_at=until,
                    )
                )
                # Those of processes gone (each start leaves one behind if it is killed).
                await conn.execute(
                    sa.delete(leases).where(
                        leases.c.token == HEARTBEAT_TOKEN, leases.c.expires_at < now - FORGOTTEN
                    )
                )
            if self._live_leases:
                await conn.execute(
                    sa.update(leases)
                    .where(leases.c.id.in_(sorted(self._live_leases)))
                    .values(expires_at=until)
                )

    # -- admin (LiteLLM's /key/* shapes) --------------------------------------------------------

    async def generate(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A new key: ``key`` when the body gives one (an operator's key carried over),
        else a random one."""
        chosen = body.get("key")
        values = _key_values({k: v for k, v in body.items() if k != "key"}, creating=True)
        key = (
            key_fields.custom_key(chosen)
            if chosen is not None
            else f"sk-{secrets.token_urlsafe(24)}"
        )
        tags = values.pop("tags", None)
        now = _now()
        row = {
            "token": hash_key(key),
            "key_name": f"sk-...{key[-4:]}",
            "spend": 0.0,
            "blocked": False,
            "created_at": now,
            "updated_at": now,
            "models": [],
            "metadata": {},
            "key_alias": None,
            "max_parallel_requests": None,
            "max_budget": None,
            "budget_duration": None,
            "budget_reset_at": None,
            "expires": None,
            "team_id": None,
            "user_id": None,
            "key_type": None,
            "rpm_limit": None,
            "tpm_limit": None,
            **values,
        }
        row["metadata"] = key_fields.with_tags(row["metadata"], tags)
        try:
            async with self._db.begin() as conn:
                await self._check_alias(conn, row.get("key_alias"), None)
                await self._check_unused(conn, row["token"])
                await conn.execute(sa.insert(keys).values(**row))
        except sa.exc.IntegrityError:
            # The same key (or alias) generated at the same moment by another request.
            raise _taken() from None
        return {"key": key, **_key_info(row)}

    async def info(self, key: str) -> dict[str, Any]:
        async with self._db.connect() as conn:
            row = await self._row(conn, key)
        return {"key": key, "info": _key_info(row)}

    async def update(self, body: Mapping[str, Any]) -> dict[str, Any]:
        key = body.get("key")
        if not isinstance(key, str) or not key:
            raise Refusal(400, "invalid_value", "Give the key to update as 'key'.", param="key")
        values = _key_values({k: v for k, v in body.items() if k != "key"}, creating=False)
        tags = values.pop("tags", None)
        async with self._db.begin() as conn:
            row = await self._row(conn, key)
            await self._check_alias(conn, values.get("key_alias"), row["token"])
            if tags is not None:
                values["metadata"] = key_fields.with_tags(
                    values.get("metadata", row["metadata"] or {}), tags
                )
            values["updated_at"] = _now()
            await conn.execute(sa.update(keys).where(keys.c.token == row["token"]).values(**values))
            updated = await self._row(conn, key)
        return {"key": key, **_key_info(updated)}

    async def delete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(body) - {"keys", "key_aliases"})
        if unknown:
            raise Refusal(
                400,
                "unknown_parameter",
                f"/key/delete takes 'keys' or 'key_aliases', not {unknown[0][:64]!r}.",
                param=unknown[0][:64],
            )
        given = _strings(body, "keys")
        aliases = _strings(body, "key_aliases")
        if not (given or aliases):
            raise Refusal(
                400, "invalid_value", "Give 'keys' (a list of keys) or 'key_aliases'.", param="keys"
            )
        deleted: list[str] = []
        # One transaction: a key or alias not found deletes none of them.
        async with self._db.begin() as conn:
            for key in given:
                row = await self._row(conn, key)
                await conn.execute(sa.delete(keys).where(keys.c.token == row["token"]))
                await rate_limits.forget(conn, row["token"])
                deleted.append(key)
            for alias in aliases:
                result = await conn.execute(sa.delete(keys).where(keys.c.key_alias == alias))
                if result.rowcount == 0:
                    raise Refusal(404, "key_not_found", f"No key has the alias {alias[:64]!r}.")
                deleted.append(alias)
        return {"deleted_keys": deleted}

    async def regenerate(self, key: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A new secret for the key ``key`` (its token, alias-free): everything else it
        holds stays (limits, spend, live sessions' leases, this minute's counts), with the
        body's fields changed as ``/key/update`` would; ``new_key`` chooses the secret. The
        old secret stops working at once, and so do client secrets minted with it."""
        fields = {k: v for k, v in body.items() if k not in ("key", "new_key")}
        values = _key_values(fields, creating=False)
        tags = values.pop("tags", None)
        chosen = body.get("new_key")
        new = (
            key_fields.custom_key(chosen)
            if chosen is not None
            else f"sk-{secrets.token_urlsafe(24)}"
        )
        token = hash_key(new)
        try:
            async with self._db.begin() as conn:
                row = await self._row(conn, key)
                old = row["token"]
                await self._check_alias(conn, values.get("key_alias"), old)
                await self._check_unused(conn, token)
                if tags is not None:
                    values["metadata"] = key_fields.with_tags(
                        values.get("metadata", row["metadata"] or {}), tags
                    )
                values.update(token=token, key_name=f"sk-...{new[-4:]}", updated_at=_now())
                await conn.execute(sa.update(keys).where(keys.c.token == old).values(**values))
                await conn.execute(
                    sa.update(leases).where(leases.c.token == old).values(token=token)
                )
                await conn.execute(sa.delete(client_secrets).where(client_secrets.c.token == old))
                await rate_limits.move(conn, old, token)
                updated = await self._row(conn, token)
        except sa.exc.IntegrityError:
            raise _taken() from None
        info = _key_info(updated)
        return {"key": new, "token_id": info.pop("token"), **info}

    async def set_blocked(self, body: Mapping[str, Any], blocked: bool) -> dict[str, Any]:
        """``/key/block`` and ``/key/unblock`` (``{"key": ...}``): the key's fields after."""
        unknown = sorted(set(body) - {"key"})
        if unknown:
            raise Refusal(
                400,
                "unknown_parameter",
                f"This endpoint takes only 'key', not {unknown[0][:64]!r}.",
                param=unknown[0][:64],
            )
        key = body.get("key")
        if not isinstance(key, str) or not key:
            raise Refusal(400, "invalid_value", "Give the key as 'key'.", param="key")
        async with self._db.begin() as conn:
            row = await self._row(conn, key)
            await conn.execute(
                sa.update(keys)
                .where(keys.c.token == row["token"])
                .values(blocked=blocked, updated_at=_now())
            )
            updated = await self._row(conn, key)
        return _key_info(updated)

    async def own_info(self, token: str, asked: str | None) -> dict[str, Any]:
        """``/key/info`` as the virtual key ``token`` reads it: its own info (``asked``:
        None, or itself), refused for any other key before that one is looked up (whether
        it exists is not this key's to learn). A key over its budget still reads its own
        (its spend is what it wants to see); a blocked or expired one does not."""
        async with self._db.connect() as conn:
            row = (
                (await conn.execute(sa.select(keys).where(keys.c.token == token)))
                .mappings()
                .first()
            )
        if row is None:
            raise Refusal(401, "invalid_api_key", "Incorrect API key provided.")
        try:
            _usable(row, _now(), None)
        except Refusal as refusal:
            if refusal.code != "budget_exceeded":
                raise
        if asked is not None and _token(asked) != token:
            raise Refusal(
                403,
                "forbidden",
                "You are not allowed to access this key's info: a virtual key reads only its own.",
                param="key",
                type="auth_error",
            )
        return {"key": asked or token, "info": _key_info(row)}

    async def list_keys(self, query: Mapping[str, str]) -> dict[str, Any]:
        page = _query_int(query, "page", 1, MAX_PAGE)
        size = _query_int(query, "size", 10, MAX_PAGE_SIZE)
        full = query.get("return_full_object", "false").lower() == "true"
        where: sa.ColumnElement[bool] = sa.true()
        if alias := query.get("key_alias"):
            where = keys.c.key_alias == alias
        for name in ("team_id", "user_id"):
            if value := query.get(name):
                where = sa.and_(where, keys.c[name] == value)
        async with self._db.connect() as conn:
            total = (
                await conn.execute(sa.select(sa.func.count()).select_from(keys).where(where))
            ).scalar_one()
            rows = (
                await conn.execute(
                    sa.select(keys)
                    .where(where)
                    .order_by(keys.c.created_at)
                    .limit(size)
                    .offset((page - 1) * size)
                )
            ).mappings()
            found = [_key_info(r) if full else r["token"] for r in rows]
        return {
            "keys": found,
            "total_count": total,
            "current_page": page,
            "total_pages": math.ceil(total / size),
        }

    async def spend_logs(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        select = sa.select(spend_logs).order_by(spend_logs.c.start_time)
        if key := query.get("api_key"):
            # A key, or its hash (what the logs and /key/list show).
            select = select.where(spend_logs.c.api_key == _token(key))
        if request_id := query.get("request_id"):
            select = select.where(spend_logs.c.request_id == request_id)
        for name, column, op in (
            ("start_date", spend_logs.c.start_time, "ge"),
            ("end_date", spend_logs.c.start_time, "le"),
        ):
            if value := query.get(name):
                try:
                    when = datetime.datetime.fromisoformat(value)
                    if when.tzinfo is None:
                        when = when.replace(tzinfo=datetime.UTC)
                    when = when.astimezone(datetime.UTC)
                except (ValueError, OverflowError):
                    raise Refusal(
                        400,
                        "invalid_value",
                        f"{name} must be a date, e.g. 2026-12-01.",
                        param=name,
                    ) from None
                select = select.where(column >= when if op == "ge" else column <= when)
        async with self._db.connect() as conn:
            rows = (await conn.execute(select)).mappings().all()
        return [_spend_row(r) for r in rows]

    # -- sessions -----------------------------------------------------------------------------

    async def standing(self, token: str, model: str | None = None) -> None:
        """Raise ``Refusal`` unless the key known by ``token`` may be used now (not blocked,
        not expired, its budget not spent; allowed ``model`` when one is named), as ``admit``
        would: for the doors that open no session (minting a client secret, a call's
        sideband, hang-up), so nothing is locked or leased."""
        async with self._db.connect() as conn:
            row = (
                (await conn.execute(sa.select(keys).where(keys.c.token == token)))
                .mappings()
                .first()
            )
        if row is None:
            raise Refusal(401, "invalid_api_key", "Incorrect API key provided.")
        _usable(row, _now(), model)

    @property
    def secrets(self) -> DatabaseBook:
        """The client secrets minted here (in the same database, for every replica)."""
        return DatabaseBook(self._db)

    async def admit(self, presented: str, model: str) -> Admission:
        """Let a session of ``model`` in with this virtual key, or raise ``Refusal``."""
        return await self.admit_token(hash_key(presented), model)

    async def admit_token(self, token: str, model: str) -> Admission:
        """``admit`` for a key known by its stored token (a client secret it minted)."""
        now = _now()
        async with self._db.begin() as conn:
            row = (
                (await conn.execute(sa.select(keys).where(keys.c.token == token).with_for_update()))
                .mappings()
                .first()
            )
            if row is None:
                raise Refusal(401, "invalid_api_key", "Incorrect API key provided.")
            spend, budget = _usable(row, now, model)
            tokens_before = await rate_limits.admit(conn, row, _label(row), now)
            if _period_over(row, now):
                # A new budget period: what was spent before it no longer counts.
                await conn.execute(
                    sa.update(keys)
                    .where(keys.c.token == token)
                    .values(
                        spend=0.0, budget_reset_at=now + durations.parse(row["budget_duration"])
                    )
                )
            lease = await self._take_lease(
                conn, token, row["max_parallel_requests"], _label(row), now
            )
        self._live_leases.add(lease)
        return Admission(
            key_hash=token,
            key_alias=row["key_alias"],
            lease_id=lease,
            budget_left=None if budget is None else budget - spend,
            tokens_per_minute=row["tpm_limit"],
            tokens_before=tokens_before,
        )

    async def _take_lease(
        self,
        conn: AsyncConnection,
        token: str,
        limit: int | None,
        label: str,
        now: datetime.datetime,
    ) -> str:
        """A lease for one more live session of ``token`` (its expired ones dropped), or
        ``Refusal`` 429 when ``limit`` sessions are live already."""
        await conn.execute(
            sa.delete(leases).where(leases.c.token == token, leases.c.expires_at <= now)
        )
        if limit is not None:
            live = (
                await conn.execute(sa.select(sa.func.count()).where(leases.c.token == token))
            ).scalar_one()
            if live >= limit:
                raise Refusal(
                    429,
                    "max_parallel_requests",
                    f"Max parallel request limit reached: {label} has {live} live "
                    f"session(s) of max_parallel_requests={limit}.",
                    type="rate_limit_error",
                )
        lease = uuid.uuid4().hex
        await conn.execute(
            sa.insert(leases).values(
                id=lease,
                token=token,
                replica=self.replica,
                expires_at=now + datetime.timedelta(seconds=self.lease_seconds),
            )
        )
        return lease

    async def release(self, admission: Admission) -> None:
        """An admission given back unused: its lease goes (no longer renewed, it expires by
        itself if the database cannot be told now)."""
        if admission.lease_id is None:
            return
        self._live_leases.discard(admission.lease_id)
        try:
            async with self._db.begin() as conn:
                await conn.execute(sa.delete(leases).where(leases.c.id == admission.lease_id))
        except StoreUnavailable as exc:
            log.info("an unused session lease is left to expire: %s", exc.reason)

    async def finish(self, admission: Admission, record: SessionRecord) -> None:
        """The session is over: its lease goes, its record and spend are written. The
        record is spooled first, so that a database outage (or a stop half-way) delays it
        and loses nothing. Never raises: what cannot be written now waits in the spool."""
        task = asyncio.ensure_future(self._finish(admission, record))
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)
        await asyncio.shield(task)

    async def _finish(self, admission: Admission, record: SessionRecord) -> None:
        if admission.lease_id is not None:
            self._live_leases.discard(admission.lease_id)
        entry = SpoolEntry(record=record, lease_id=admission.lease_id)
        held = None
        if self._spool is not None:
            try:
                held = await asyncio.to_thread(self._spool.put, entry)
            except OSError as exc:
                log.error(
                    "session %s: its record could not be spooled (%s)", record.request_id, exc
                )
        try:
            async with asyncio.timeout(WRITE_SECONDS):
                await self._write(entry)
        except (StoreUnavailable, TimeoutError) as exc:
            why = exc.reason if isinstance(exc, StoreUnavailable) else "the write timed out"
            if held is None:
                log.error(
                    "recording session %s failed (%s): its record is lost",
                    record.request_id,
                    why,
                )
            else:
                held.release()
                log.warning(
                    "session %s: its record waits in the spool until the key store is back (%s)",
                    record.request_id,
                    why,
                )
            return
        except BaseException:
            if held is not None:
                held.release()
            raise
        if held is not None:
            await asyncio.to_thread(held.done)

    async def flush(self) -> int:
        """Write the records waiting in the spool (their sessions ended while the store
        was down); how many. Stops at the first failure, raising ``StoreUnavailable``."""
        if self._spool is None:
            return 0
        written = 0
        async with self._flushing:
            waiting = self._spool.take()
            while (held := await asyncio.to_thread(next, waiting, None)) is not None:
                try:
                    await self._write(held.entry)
                except BaseException:
                    held.release()
                    raise
                await asyncio.to_thread(held.done)
                written += 1
        if written:
            log.info("wrote %d session record(s) from the spool to the key store", written)
        return written

    async def _write(self, entry: SpoolEntry) -> bool:
        """One record, once: inserted if its request id is not there yet, and the key's
        spend raised in the same transaction only if it was (a record written again, from
        the spool or by another process sharing it, counts once)."""
        record = entry.record
        insert = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
        async with self._db.begin() as conn:
            if entry.lease_id is not None:
                # The key's token now: a /key/regenerate during the session moved its lease
                # (and the key) to the new one, which its spend is charged to.
                moved = (
                    await conn.execute(
                        sa.select(leases.c.token).where(leases.c.id == entry.lease_id)
                    )
                ).scalar()
                if moved is not None and record.key_hash is not None and moved != record.key_hash:
                    record = msgspec.structs.replace(record, key_hash=moved)
                await conn.execute(sa.delete(leases).where(leases.c.id == entry.lease_id))
            result = await conn.execute(
                insert(spend_logs)
                .values(**_record_row(record))
                .on_conflict_do_nothing(index_elements=["request_id"])
            )
            inserted = result.rowcount == 1
            if inserted and record.key_hash is not None and record.spend:
                await conn.execute(
                    sa.update(keys)
                    .where(keys.c.token == record.key_hash)
                    .values(spend=keys.c.spend + record.spend)
                )
            if inserted and record.key_hash is not None:
                tpm = (
                    await conn.execute(
                        sa.select(keys.c.tpm_limit).where(keys.c.token == record.key_hash)
                    )
                ).scalar()
                if tpm is not None:
                    await rate_limits.add_tokens(
                        conn, record.key_hash, _tokens(record), record.end_time
                    )
        return inserted

    # -- helpers ------------------------------------------------------------------------------

    async def _row(self, conn: AsyncConnection, key: str) -> Mapping[Any, Any]:
        row = (
            (await conn.execute(sa.select(keys).where(keys.c.token == _token(key))))
            .mappings()
            .first()
        )
        if row is None:
            raise Refusal(404, "key_not_found", "No such key.")
        return row

    async def _check_unused(self, conn: AsyncConnection, token: str) -> None:
        found = (await conn.execute(sa.select(keys.c.token).where(keys.c.token == token))).scalar()
        if found is not None:
            raise _taken()

    async def _check_alias(self, conn: AsyncConnection, alias: object, own: str | None) -> None:
        if alias is None:
            return
        found = (
            await conn.execute(sa.select(keys.c.token).where(keys.c.key_alias == alias))
        ).scalar()
        if found is not None and found != own:
            raise Refusal(400, "key_alias_taken", f"A key with the alias {alias!r} exists.")


def _taken() -> Refusal:
    return Refusal(
        400,
        "key_exists",
        "A virtual key with this value exists already: choose another 'key', or leave it "
        "out to have one generated.",
        param="key",
    )


def _tokens(record: SessionRecord) -> int:
    usage = record.usage
    return (
        usage.input_text_tokens
        + usage.input_audio_tokens
        + usage.output_text_tokens
        + usage.output_audio_tokens
    )


def _label(row: Mapping[Any, Any]) -> str:
    return f"Key={row['key_alias'] or row['key_name']}"


def _period_over(row: Mapping[Any, Any], now: datetime.datetime) -> bool:
    reset_at = _utc(row["budget_reset_at"])
    return reset_at is not None and bool(row["budget_duration"]) and reset_at <= now


def _usable(
    row: Mapping[Any, Any], now: datetime.datetime, model: str | None
) -> tuple[float, float | None]:
    """The key's spend this budget period and its budget, or ``Refusal`` (LiteLLM's codes
    and words) when it may not be used now."""
    label = _label(row)
    if row["blocked"]:
        raise Refusal(401, "key_blocked", f"This key is blocked ({label}).")
    expires = _utc(row["expires"])
    if expires is not None and expires <= now:
        raise Refusal(
            401,
            "key_expired",
            f"Authentication Error - Expired Key. {label} expired at {expires.isoformat()}.",
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
    spend = 0.0 if _period_over(row, now) else float(row["spend"])
    budget = row["max_budget"]
    if budget is not None and spend >= budget:
        raise Refusal(
            429,
            "budget_exceeded",
            f"Budget has been exceeded! {label} Current cost: {spend}, Max budget: {budget}",
            type="budget_exceeded",
        )
    return spend, budget


def _key_values(body: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """The columns a /key/generate or /key/update body sets, checked: each refusal names
    its field in ``param``."""
    unknown = set(body) - _KEY_FIELDS - ({"key"} if not creating else set())
    if unknown & _NOT_ENFORCED:
        refused = sorted(unknown & _NOT_ENFORCED)
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
    values: dict[str, Any] = key_fields.values(body)
    now = _now()
    if "models" in body:
        models = [] if body["models"] is None else body["models"]
        if (
            not isinstance(models, list)
            or len(models) > MAX_MODELS
            or not all(isinstance(m, str) and 0 < len(m) <= MAX_NAME for m in models)
        ):
            raise _invalid("models", f"a list of at most {MAX_MODELS} model names")
        values["models"] = models
    if "max_parallel_requests" in body:
        value = body["max_parallel_requests"]
        if value is not None and (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not 1 <= value <= MAX_PARALLEL_REQUESTS
        ):
            raise _invalid(
                "max_parallel_requests",
                f"a whole number from 1 to {MAX_PARALLEL_REQUESTS:,}, or null for no limit",
            )
        values["max_parallel_requests"] = value
    if "max_budget" in body:
        values["max_budget"] = _budget(body["max_budget"])
    for name in ("budget_duration", "duration"):
        if name in body:
            value = body[name]
            if value is not None and (not isinstance(value, str) or len(value) > 16):
                raise _invalid(name, "a duration such as 30d (s, m, h, d, w or mo), or null")
            if value is None or (name == "duration" and value == "permanent"):
                period = None
            else:
                try:
                    period = durations.parse(value)
                except ValueError as exc:
                    raise Refusal(400, "invalid_value", str(exc), param=name) from None
            if name == "budget_duration":
                values["budget_duration"] = value
                values["budget_reset_at"] = None if period is None else now + period
            else:
                values["expires"] = None if period is None else now + period
    if "key_alias" in body:
        alias = body["key_alias"]
        if alias is not None and (
            not isinstance(alias, str)
            or not 0 < len(alias) <= MAX_NAME
            or any(unicodedata.category(c) in _LINE_BREAKING for c in alias)
        ):
            raise _invalid("key_alias", f"a string of 1 to {MAX_NAME} printable characters")
        values["key_alias"] = alias
    if "metadata" in body:
        metadata = {} if body["metadata"] is None else body["metadata"]
        if not isinstance(metadata, dict):
            raise _invalid("metadata", "an object")
        values["metadata"] = metadata
    if "blocked" in body:
        blocked = body["blocked"]
        if blocked is not None and not isinstance(blocked, bool):
            raise _invalid("blocked", "true or false")
        values["blocked"] = bool(blocked)
    return values


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
        raise _invalid("max_budget", "a finite number of USD, 0 or more, or null for no budget")
    return budget


def _invalid(name: str, what: str) -> Refusal:
    return Refusal(400, "invalid_value", f"{name} must be {what}.", param=name)


def _strings(body: Mapping[str, Any], name: str) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if (
        not isinstance(value, list)
        or len(value) > MAX_DELETE
        or not all(isinstance(v, str) and v for v in value)
    ):
        raise _invalid(name, f"a list of at most {MAX_DELETE} non-empty strings")
    return value


def _query_int(query: Mapping[str, str], name: str, default: int, top: int) -> int:
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


def _record_row(record: SessionRecord) -> dict[str, Any]:
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


def _spend_row(row: Mapping[Any, Any]) -> dict[str, Any]:
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
        "startTime": _iso(row["start_time"]),
        "endTime": _iso(row["end_time"]),
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
