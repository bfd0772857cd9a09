"""Keys on a LiteLLM proxy's own database: rtcore beside LiteLLM, one set of keys and one
spend log for both.

When ``database_url`` names a PostgreSQL database that holds LiteLLM's tables (its
``LiteLLM_VerificationToken`` is there), sessions are admitted by LiteLLM's virtual keys
as LiteLLM admits requests (the key's SHA-256 is its ``token``; models, expiry, blocked,
the key's, its team's and, for a key of no team, its user's budget over the current
budget period; the key's ``max_parallel_requests``), and each session is written as
LiteLLM writes a request: a ``LiteLLM_SpendLogs`` row, and its spend added to the key's,
the team's and the user's ``spend``. Nothing else of LiteLLM's is written, and LiteLLM's
schema is never changed: its migrations are LiteLLM's to run.

What rtcore keeps of its own (the leases that count a key's live sessions across
replicas, client secrets, shared deployment cooldowns) lives in a schema of its own,
``rtcore``, created beside LiteLLM's and migrated as rtcore's store always is; LiteLLM's
migrations touch only the schema its URL names, and never this one.

Finding LiteLLM's tables is ``litellm_tables``; whether a key may be used,
``litellm_standing``; the rows a session adds, ``litellm_rows``.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, override

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from rtcore.keys.database import Database
from rtcore.keys.errors import Refusal
from rtcore.keys.hashing import hash_key, stored_token
from rtcore.keys.litellm_rows import add_to_day, for_column, spend_log_row
from rtcore.keys.litellm_standing import Standing, utc
from rtcore.keys.litellm_tables import RTCORE_SCHEMA, LiteLLMTables, prepare, split_url
from rtcore.keys.locations import async_url, data_dir
from rtcore.keys.queries import query_date
from rtcore.keys.schema import leases
from rtcore.keys.spool import Spool, SpoolEntry, default_directory
from rtcore.keys.store import LEASE_SECONDS, Admission, KeyStore, checked_spool

log = logging.getLogger(__name__)

# The user LiteLLM charges the master key's requests to (its litellm_proxy_admin_name).
MASTER_USER = "default_user_id"
# One key's admissions take turns on this advisory lock (with the token's hash): the
# parallel limit holds across replicas without a lock on any row of LiteLLM's.
ADMISSION_LOCK = 0x72746B61  # "rtka"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def managed_by_litellm() -> Refusal:
    """What the key admin API answers on LiteLLM's database: the keys are LiteLLM's."""
    return Refusal(
        400,
        "keys_managed_by_litellm",
        "This server admits the keys of LiteLLM's database: create, change and delete them "
        "through LiteLLM's proxy (its /key/* API or its UI).",
    )


class LiteLLMKeyStore(KeyStore):
    """The key store on LiteLLM's database: admission and session records as above; the
    leases, their renewal, the spool and the cooldowns as ``KeyStore`` has them, in
    rtcore's schema."""

    def __init__(
        self,
        db: Database,
        spool: Spool | None,
        tables: LiteLLMTables,
        *,
        master_token: str | None,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        super().__init__(db, spool, lease_seconds=lease_seconds)
        self.tables = tables
        self._master_token = master_token

    @classmethod
    async def open_on(
        cls,
        url: str,
        schema: str,
        *,
        master_key: str | None,
        lease_seconds: float = LEASE_SECONDS,
        spool_dir: Path | None = None,
    ) -> LiteLLMKeyStore:
        """``KeyStore.open`` on LiteLLM's database, whose tables are in ``schema``."""
        plain, _ = split_url(async_url(url))
        tables = await prepare(plain, schema)
        db = Database(plain, schema=RTCORE_SCHEMA)
        try:
            await db.open()
            spool = await checked_spool(spool_dir or default_directory(plain, data_dir()))
            store = cls(
                db,
                spool,
                tables,
                master_token=hash_key(master_key) if master_key else None,
                lease_seconds=lease_seconds,
            )
            await store._heartbeat()
        except BaseException:
            await db.dispose()
            raise
        await store._start()
        return store

    async def _standing(self, conn: AsyncConnection, token: str) -> Standing:
        t = self.tables
        key = (
            (await conn.execute(sa.select(t.tokens).where(t.tokens.c.token == token)))
            .mappings()
            .first()
        )
        if key is None:
            raise Refusal(401, "invalid_api_key", "Incorrect API key provided.")
        team = user = None
        if key.get("team_id"):
            team = (
                (await conn.execute(sa.select(t.teams).where(t.teams.c.team_id == key["team_id"])))
                .mappings()
                .first()
            )
        if key.get("user_id"):
            user = (
                (await conn.execute(sa.select(t.users).where(t.users.c.user_id == key["user_id"])))
                .mappings()
                .first()
            )
        return Standing(key, team, user)

    @override
    async def standing(self, token: str, model: str | None = None) -> None:
        async with self._db.connect() as conn:
            found = await self._standing(conn, token)
        found.check(_now(), model)

    @override
    async def admit_token(self, token: str, model: str) -> Admission:
        now = _now()
        async with self._db.begin() as conn:
            await conn.execute(
                sa.select(sa.func.pg_advisory_xact_lock(ADMISSION_LOCK, sa.func.hashtext(token)))
            )
            found = await self._standing(conn, token)
            budget_left = found.check(now, model)
            lease = await self._take_lease(
                conn, token, found.key.get("max_parallel_requests"), found.label, now
            )
        self._live_leases.add(lease)
        return Admission(
            key_hash=token,
            key_alias=found.key.get("key_alias"),
            lease_id=lease,
            budget_left=budget_left,
        )

    @override
    async def _write(self, entry: SpoolEntry) -> bool:
        """The session as a row of LiteLLM's spend log (once: by its request id), its spend
        added to the key's, the team's and the user's counters in the same transaction."""
        record = entry.record
        t = self.tables
        async with self._db.begin() as conn:
            if entry.lease_id is not None:
                await conn.execute(sa.delete(leases).where(leases.c.id == entry.lease_id))
            team_id = user_id = organization_id = None
            if record.key_hash is not None:
                owner = (
                    await conn.execute(
                        sa.select(
                            t.tokens.c.team_id, t.tokens.c.user_id, t.tokens.c.organization_id
                        ).where(t.tokens.c.token == record.key_hash)
                    )
                ).first()
                if owner is not None:
                    team_id, user_id, organization_id = owner
                if organization_id is None and team_id is not None:
                    organization_id = (
                        await conn.execute(
                            sa.select(t.teams.c.organization_id).where(t.teams.c.team_id == team_id)
                        )
                    ).scalar()
            elif self._master_token is not None:
                user_id = MASTER_USER
            row = spend_log_row(
                record,
                api_key=record.key_hash or self._master_token or "",
                team_id=team_id,
                user_id=user_id,
                table=t.spend_logs,
            )
            result = await conn.execute(
                postgresql.insert(t.spend_logs)
                .values(**row)
                .on_conflict_do_nothing(index_elements=["request_id"])
            )
            inserted = result.rowcount == 1
            if inserted:
                owners = {"user_id": user_id, "team_id": team_id}
                for column, table in t.daily.items():
                    if (whose := owners[column]) is not None:
                        await add_to_day(conn, table, column, whose, row, record)
            if inserted and record.spend:
                await self._add_spend(
                    conn,
                    record.spend,
                    token=record.key_hash,
                    team_id=team_id,
                    user_id=user_id,
                    organization_id=organization_id,
                )
        return inserted

    async def _add_spend(
        self,
        conn: AsyncConnection,
        spend: float,
        *,
        token: str | None,
        team_id: str | None,
        user_id: str | None,
        organization_id: str | None,
    ) -> None:
        """The counters LiteLLM adds a request's spend to: the key's, its team's, its
        user's, the user's in that team (spend, and lifetime ``total_spend``), the
        organisation's. A row that is not there is no counter (as in LiteLLM)."""
        t = self.tables
        counters: list[tuple[sa.Table | None, dict[str, str | None]]] = [
            (t.tokens, {"token": token}),
            (t.teams, {"team_id": team_id}),
            (t.users, {"user_id": user_id}),
            (t.members, {"user_id": user_id, "team_id": team_id}),
            (t.organizations, {"organization_id": organization_id}),
        ]
        for table, where in counters:
            if table is None or None in where.values():
                continue
            values = {
                name: table.c[name] + spend
                for name in ("spend", "total_spend")
                if name in table.c and (name == "spend" or table is t.members)
            }
            await conn.execute(
                sa.update(table)
                .where(*(table.c[name] == value for name, value in where.items()))
                .values(**values)
            )

    @override
    async def spend_logs(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        """LiteLLM's spend log (its chat rows and these sessions'), as its ``/spend/logs``
        lists it: filtered by ``api_key`` (a key or its hash), ``request_id``, and
        ``start_date`` / ``end_date`` on the start time."""
        logs = self.tables.spend_logs
        start = logs.c["startTime"]
        select = sa.select(logs).order_by(start)
        if key := query.get("api_key"):
            select = select.where(logs.c.api_key == stored_token(key))
        if request_id := query.get("request_id"):
            select = select.where(logs.c.request_id == request_id)
        for name in ("start_date", "end_date"):
            if (when := query_date(query, name)) is not None:
                bound = for_column(when, start)
                select = select.where(start >= bound if name == "start_date" else start <= bound)
        async with self._db.connect() as conn:
            rows = (await conn.execute(select)).mappings().all()
        return [{name: _json(value) for name, value in row.items()} for row in rows]


def _json(value: object) -> object:
    if isinstance(value, datetime.datetime):
        moment = utc(value)
        assert moment is not None
        return moment.isoformat()
    return value
