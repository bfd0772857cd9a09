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
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, override

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from rtcore.keys.database import CONNECT_TIMEOUT_SECONDS, Database, reason_of
from rtcore.keys.errors import Refusal, StoreUnavailable
from rtcore.keys.hashing import hash_key
from rtcore.keys.schema import leases
from rtcore.keys.spool import Spool, SpoolEntry, default_directory
from rtcore.keys.store import LEASE_SECONDS, Admission, KeyStore, async_url, data_dir
from rtcore.keys.usage import SessionRecord, mcp_metadata

log = logging.getLogger(__name__)

# The schema rtcore's own tables live in, beside LiteLLM's.
RTCORE_SCHEMA = "rtcore"
# The table whose presence says "this is LiteLLM's database".
MARK = "LiteLLM_VerificationToken"
TABLES = (
    "LiteLLM_VerificationToken",
    "LiteLLM_TeamTable",
    "LiteLLM_UserTable",
    "LiteLLM_SpendLogs",
)
# Spend counters of LiteLLM's written when its database has them (newer releases do).
OPTIONAL_TABLES = ("LiteLLM_TeamMembership", "LiteLLM_OrganizationTable")
# LiteLLM's call type for its realtime endpoint: voice rows group with its own.
CALL_TYPE = "_arealtime"
# The user LiteLLM charges the master key's requests to (its litellm_proxy_admin_name).
MASTER_USER = "default_user_id"
# One key's admissions take turns on this advisory lock (with the token's hash): the
# parallel limit holds across replicas without a lock on any row of LiteLLM's.
ADMISSION_LOCK = 0x72746B61  # "rtka"
# Key model lists that allow every model (LiteLLM's spellings); "all-team-models" defers
# to the team's list.
ALL_MODELS = {"all-proxy-models", "*"}
TEAM_MODELS = "all-team-models"
# Prisma's connection-string parameters: not the driver's. ``schema`` says where
# LiteLLM's tables are.
_PRISMA_PARAMS = {"schema", "connection_limit", "pool_timeout", "socket_timeout", "pgbouncer"}


def split_url(url: str) -> tuple[str, str | None]:
    """The URL without Prisma's parameters, and the schema it names (``?schema=``)."""
    parsed = sa.make_url(url)
    schema = parsed.query.get("schema")
    plain = parsed.difference_update_query(_PRISMA_PARAMS)
    return (
        plain.render_as_string(hide_password=False),
        schema if isinstance(schema, str) and schema else None,
    )


async def litellm_schema(url: str) -> str | None:
    """The schema that holds LiteLLM's tables at ``url`` (the URL's ``?schema=``, else the
    connection's current schema), or None: not PostgreSQL, or not LiteLLM's database.
    ``StoreUnavailable`` when the database cannot be asked."""
    url = async_url(url)
    if sa.make_url(url).get_backend_name() != "postgresql":
        return None
    plain, schema = split_url(url)
    engine = create_async_engine(plain, connect_args={"timeout": CONNECT_TIMEOUT_SECONDS})
    try:
        async with engine.connect() as conn:
            where = schema or (await conn.execute(sa.text("SELECT current_schema()"))).scalar()
            found = (
                await conn.execute(
                    sa.text(
                        "SELECT 1 FROM pg_catalog.pg_tables "
                        "WHERE schemaname = :schema AND tablename = :table"
                    ),
                    {"schema": where, "table": MARK},
                )
            ).scalar()
    except Exception as exc:
        raise StoreUnavailable(reason_of(exc)) from None
    finally:
        await engine.dispose()
    return str(where) if found else None


class LiteLLMTables:
    """LiteLLM's tables as this database has them (reflected: the columns differ between
    LiteLLM's releases, and only those present are written)."""

    def __init__(self, metadata: sa.MetaData, schema: str) -> None:
        missing = [name for name in TABLES if f"{schema}.{name}" not in metadata.tables]
        if missing:
            raise StoreUnavailable(f"LiteLLM's tables are incomplete: no {', '.join(missing)}")
        self.schema = schema
        self.tokens, self.teams, self.users, self.spend_logs = (
            metadata.tables[f"{schema}.{name}"] for name in TABLES
        )
        self.members, self.organizations = (
            metadata.tables.get(f"{schema}.{name}") for name in OPTIONAL_TABLES
        )


async def _prepare(url: str, schema: str) -> LiteLLMTables:
    """rtcore's schema created if it is not there yet; LiteLLM's tables read."""
    engine = create_async_engine(url, connect_args={"timeout": CONNECT_TIMEOUT_SECONDS})
    metadata = sa.MetaData()
    try:
        async with engine.begin() as conn:
            exists = (
                await conn.execute(
                    sa.text("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = :name"),
                    {"name": RTCORE_SCHEMA},
                )
            ).scalar()
            if not exists:
                try:
                    await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{RTCORE_SCHEMA}"'))
                except sa.exc.DBAPIError as exc:
                    raise StoreUnavailable(
                        f"cannot create rtcore's schema {RTCORE_SCHEMA!r} beside LiteLLM's "
                        f"tables ({reason_of(exc)}): grant this user CREATE on the database, "
                        f"or create the schema for it"
                    ) from None
            wanted = {*TABLES, *OPTIONAL_TABLES}
            await conn.run_sync(
                lambda sync: metadata.reflect(
                    sync, schema=schema, only=lambda name, _: name in wanted, resolve_fks=False
                )
            )
    except StoreUnavailable:
        raise
    except Exception as exc:
        raise StoreUnavailable(reason_of(exc)) from None
    finally:
        await engine.dispose()
    return LiteLLMTables(metadata, schema)


def _utc(value: datetime.datetime | None) -> datetime.datetime | None:
    # Prisma's DateTime is a timestamp without time zone, written in UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=datetime.UTC)


def _for_column(value: datetime.datetime, column: sa.Column[Any]) -> datetime.datetime:
    value = value.astimezone(datetime.UTC)
    return value if getattr(column.type, "timezone", False) else value.replace(tzinfo=None)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _period_spend(row: Mapping[Any, Any], now: datetime.datetime) -> float:
    """What counts against the budget now: nothing once the budget period is over (LiteLLM's
    reset job zeroes ``spend`` then; until it runs, the spend of the period gone is not
    held against the new one)."""
    reset_at = _utc(row.get("budget_reset_at"))
    if row.get("budget_duration") and reset_at is not None and reset_at <= now:
        return 0.0
    return float(row.get("spend") or 0.0)


def _allowed(models: list[str] | None, model: str) -> bool:
    return not models or model in models or bool(ALL_MODELS & set(models))


class Standing:
    """A key's rows (its own, its team's, its user's) and what it may spend."""

    def __init__(
        self,
        key: Mapping[Any, Any],
        team: Mapping[Any, Any] | None,
        user: Mapping[Any, Any] | None,
    ) -> None:
        self.key, self.team, self.user = key, team, user

    @property
    def label(self) -> str:
        return f"Key={self.key.get('key_alias') or self.key.get('key_name') or 'sk-...'}"

    def check(self, now: datetime.datetime, model: str | None) -> float | None:
        """What the session may spend (None: no budget binds), or ``Refusal`` with
        rtcore's codes and LiteLLM's words."""
        key, team = self.key, self.team
        if key.get("blocked"):
            raise Refusal(401, "key_blocked", f"This key is blocked ({self.label}).")
        expires = _utc(key.get("expires"))
        if expires is not None and expires <= now:
            raise Refusal(
                401,
                "key_expired",
                f"Authentication Error - Expired Key. {self.label} expired at "
                f"{expires.isoformat()}.",
            )
        if team is not None and team.get("blocked"):
            raise Refusal(401, "team_blocked", f"Team={team['team_id']} is blocked ({self.label}).")
        if model is not None:
            self._check_model(model)
        lefts: list[float] = []
        spend, budget = _period_spend(key, now), key.get("max_budget")
        if budget is not None:
            if spend >= budget:
                raise _over(
                    f"Budget has been exceeded! {self.label} Current cost: {spend}, "
                    f"Max budget: {budget}"
                )
            lefts.append(budget - spend)
        if team is not None and team.get("max_budget") is not None:
            spend, budget = _period_spend(team, now), team["max_budget"]
            if spend >= budget:
                raise _over(
                    f"Budget has been exceeded! Team={team['team_id']} Current cost: {spend}, "
                    f"Max budget: {budget}"
                )
            lefts.append(budget - spend)
        # A user's own budget binds the keys of no team (as LiteLLM has it).
        user = self.user
        if team is None and user is not None and user.get("max_budget") is not None:
            spend, budget = _period_spend(user, now), user["max_budget"]
            if spend >= budget:
                raise _over(
                    f"ExceededBudget: User={user['user_id']} over budget. Spend={spend}, "
                    f"Budget={budget}"
                )
            lefts.append(budget - spend)
        return min(lefts) if lefts else None

    def _check_model(self, model: str) -> None:
        models = list(self.key.get("models") or [])
        team_models = list(self.team.get("models") or []) if self.team is not None else None
        if TEAM_MODELS in models:
            models = team_models or []
        if not _allowed(models, model):
            raise Refusal(
                403,
                "model_not_allowed",
                f"key not allowed to access model. This key can only access models={models}. "
                f"Tried to access {model}.",
            )
        if team_models is not None and not _allowed(team_models, model):
            raise Refusal(
                403,
                "model_not_allowed",
                f"Team={self.team and self.team['team_id']} not allowed to access model. "
                f"Team can only access models={team_models}. Tried to access {model}.",
            )


def _over(message: str) -> Refusal:
    return Refusal(429, "budget_exceeded", message, type="budget_exceeded")


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
        tables = await _prepare(plain, schema)
        db = Database(plain, schema=RTCORE_SCHEMA)
        try:
            await db.open()
            directory = spool_dir or default_directory(plain, data_dir())
            spool = Spool(directory) if directory is not None else None
            if spool is not None:
                try:
                    await asyncio.to_thread(spool.check)
                except OSError as exc:
                    raise StoreUnavailable(
                        f"the spool directory {spool.directory} is not writable: "
                        f"{exc.strerror or exc}"
                    ) from None
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
        with contextlib.suppress(StoreUnavailable):
            await store.flush()
        store._maintaining = asyncio.create_task(store._maintain(), name="key-store-upkeep")
        store.cooldowns.start()
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
            row = _spend_log_row(
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
            token = key if len(key) == 64 and not key.startswith("sk-") else hash_key(key)
            select = select.where(logs.c.api_key == token)
        if request_id := query.get("request_id"):
            select = select.where(logs.c.request_id == request_id)
        for name in ("start_date", "end_date"):
            if value := query.get(name):
                try:
                    when = datetime.datetime.fromisoformat(value)
                    if when.tzinfo is None:
                        when = when.replace(tzinfo=datetime.UTC)
                except (ValueError, OverflowError):
                    raise Refusal(
                        400,
                        "invalid_value",
                        f"{name} must be a date, e.g. 2026-12-01.",
                        param=name,
                    ) from None
                bound = _for_column(when, start)
                select = select.where(start >= bound if name == "start_date" else start <= bound)
        async with self._db.connect() as conn:
            rows = (await conn.execute(select)).mappings().all()
        return [{name: _json(value) for name, value in row.items()} for row in rows]


def _json(value: object) -> object:
    if isinstance(value, datetime.datetime):
        moment = _utc(value)
        assert moment is not None
        return moment.isoformat()
    return value


def _spend_log_row(
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
        "startTime": _for_column(record.start_time, table.c["startTime"]),
        "endTime": _for_column(record.end_time, table.c["endTime"]),
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
