"""``rtcore serve`` on a LiteLLM proxy's own database: a real PostgreSQL with LiteLLM's own
migrations applied (the SQL ``litellm-proxy-extras`` ships, in order, through psql as
LiteLLM's deploy step runs them), keys written into LiteLLM's tables as its /key/generate
writes them. LiteLLM's keys admit sessions and what binds them binds; each session lands
in LiteLLM's spend log and counters; LiteLLM's schema is the same after as before."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import importlib.util
import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg  # type: ignore[import-untyped]
import pytest

from tests.keys.conftest import MASTER, Admin, refused, serve, session, text_turn, until
from tests.postgres_server import PostgresCluster, _pg_bin
from tests.transports.process import Served, rtcore

# A realtime model served by its vendor's protocol against the bundled emulator.
VOICE_CONFIG = f"""\
model_list:
  - model_name: voice
    litellm_params: {{model: openai/gpt-realtime-2}}
    model_info: {{mode: realtime}}
general_settings:
  master_key: {MASTER}
"""
NOW = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
DAY = datetime.timedelta(days=1)


def _migrations() -> list[Path]:
    spec = importlib.util.find_spec("litellm_proxy_extras")
    if spec is None or spec.origin is None:
        pytest.skip("litellm-proxy-extras is not installed (the test extra installs it)")
    root = Path(spec.origin).parent / "migrations"
    found = sorted(root.glob("*/migration.sql"))
    assert len(found) > 100, root  # LiteLLM's history, not a stray directory
    return found


def _psql(url: str, *args: str) -> str:
    psql = _pg_bin("psql")
    assert psql is not None
    done = subprocess.run(
        [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", url, *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def _dump(url: str) -> str:
    """LiteLLM's schema as pg_dump writes it (everything but rtcore's own schema)."""
    pg_dump = _pg_bin("pg_dump")
    assert pg_dump is not None
    done = subprocess.run(
        [pg_dump, "--schema-only", "--no-owner", "--exclude-schema=rtcore", url],
        check=True,
        capture_output=True,
        text=True,
    )
    return "\n".join(
        line
        for line in done.stdout.splitlines()
        if not line.startswith(("\\restrict", "\\unrestrict"))
    )


@pytest.fixture(scope="module")
def litellm_template(postgres: str) -> Iterator[str]:
    """A database with LiteLLM's migrations applied, the template of each test's."""
    name = f"litellm_{uuid.uuid4().hex[:8]}"
    _psql(postgres, "-c", f"CREATE DATABASE {name}")
    url = postgres.rsplit("/", 1)[0] + "/" + name
    files: list[str] = []
    for path in _migrations():
        files += ["-f", str(path)]
    _psql(url, *files)
    yield name
    _psql(postgres, "-c", f"DROP DATABASE {name}")


@pytest.fixture
def litellm_db(postgres: str, litellm_template: str) -> Iterator[str]:
    """A LiteLLM database of the test's own; its URL, as LiteLLM's DATABASE_URL is."""
    name = f"litellm_test_{uuid.uuid4().hex[:8]}"
    _psql(postgres, "-c", f"CREATE DATABASE {name} TEMPLATE {litellm_template}")
    yield postgres.rsplit("/", 1)[0] + "/" + name
    _psql(postgres, "-c", f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
async def litellm(litellm_db: str) -> AsyncIterator[LiteLLM]:
    conn = await asyncpg.connect(litellm_db)
    try:
        yield LiteLLM(conn)
    finally:
        await conn.close()


class LiteLLM:
    """LiteLLM's tables, written as its management endpoints write them."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def team(
        self,
        *,
        max_budget: float | None = None,
        spend: float = 0.0,
        blocked: bool = False,
        organization_id: str | None = None,
    ) -> str:
        team_id = str(uuid.uuid4())
        await self.conn.execute(
            'INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, admins, members, '
            "members_with_roles, metadata, max_budget, spend, models, blocked, "
            "created_at, updated_at, organization_id) VALUES ($1, $2, '{}', '{}', '[]', '{}', $3, "
            "$4, '{}', $6, $5, $5, $7)",
            team_id,
            f"team-{team_id[:4]}",
            max_budget,
            spend,
            NOW,
            blocked,
            organization_id,
        )
        return team_id

    async def organization(self) -> str:
        budget_id, organization_id = str(uuid.uuid4()), str(uuid.uuid4())
        await self.conn.execute(
            'INSERT INTO "LiteLLM_BudgetTable" (budget_id, created_by, updated_by) '
            "VALUES ($1, 'default_user_id', 'default_user_id')",
            budget_id,
        )
        await self.conn.execute(
            'INSERT INTO "LiteLLM_OrganizationTable" (organization_id, organization_alias, '
            "budget_id, models, created_by, updated_by) VALUES ($1, 'org', $2, '{}', "
            "'default_user_id', 'default_user_id')",
            organization_id,
            budget_id,
        )
        return organization_id

    async def member(self, user_id: str, team_id: str) -> None:
        await self.conn.execute(
            'INSERT INTO "LiteLLM_TeamMembership" (user_id, team_id) VALUES ($1, $2)',
            user_id,
            team_id,
        )

    async def user(self, *, max_budget: float | None = None, spend: float = 0.0) -> str:
        user_id = f"user-{uuid.uuid4().hex[:8]}"
        await self.conn.execute(
            'INSERT INTO "LiteLLM_UserTable" (user_id, user_role, max_budget, spend, models, '
            "metadata, created_at, updated_at) VALUES ($1, 'internal_user', $2, $3, '{}', "
            "'{}', $4, $4)",
            user_id,
            max_budget,
            spend,
            NOW,
        )
        return user_id

    async def key(self, **fields: Any) -> str:
        """A key as /key/generate stores it: its SHA-256 as ``token``, never the key."""
        key = f"sk-{uuid.uuid4().hex}"
        row: dict[str, Any] = {
            "token": hashlib.sha256(key.encode()).hexdigest(),
            "key_name": f"sk-...{key[-4:]}",
            "key_alias": None,
            "spend": 0.0,
            "models": [],
            "aliases": "{}",
            "config": "{}",
            "permissions": "{}",
            "metadata": "{}",
            "max_parallel_requests": None,
            "max_budget": None,
            "budget_duration": None,
            "budget_reset_at": None,
            "expires": None,
            "blocked": None,
            "user_id": None,
            "team_id": None,
            "created_by": "default_user_id",
            "updated_by": "default_user_id",
            "created_at": NOW,
            "updated_at": NOW,
            **fields,
        }
        names = ", ".join(f'"{n}"' for n in row)
        places = ", ".join(f"${i}" for i in range(1, len(row) + 1))
        await self.conn.execute(
            f'INSERT INTO "LiteLLM_VerificationToken" ({names}) VALUES ({places})',
            *row.values(),
        )
        return key

    async def spend(self, table: str, column: str, value: str) -> float:
        found = await self.conn.fetchval(
            f'SELECT spend FROM "{table}" WHERE "{column}" = $1', value
        )
        return float(found)

    async def logs(self, api_key: str) -> list[Any]:
        return list(
            await self.conn.fetch(
                'SELECT * FROM "LiteLLM_SpendLogs" WHERE api_key = $1 ORDER BY "startTime"',
                api_key,
            )
        )


@pytest.fixture
def served(tmp_path: Path, litellm_db: str) -> Iterator[Served]:
    server = serve(tmp_path, "--database-url", litellm_db)
    try:
        yield server
    finally:
        server.stop()


def _token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def test_a_litellm_key_opens_a_session_and_litellm_holds_its_spend(
    tmp_path: Path, http: aiohttp.ClientSession, litellm_db: str, litellm: LiteLLM
) -> None:
    organization = await litellm.organization()
    team = await litellm.team(max_budget=100.0, organization_id=organization)
    user = await litellm.user()
    await litellm.member(user, team)
    key = await litellm.key(key_alias="voice", team_id=team, user_id=user, models=["voice"])
    # A chat request LiteLLM logged earlier: voice spend goes beside it.
    await litellm.conn.execute(
        'INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, '
        '"startTime", "endTime", model) VALUES ($1, $2, $3, $4, $5, $5, $6)',
        "chatcmpl-1",
        "acompletion",
        _token(key),
        0.5,
        NOW - DAY,
        "gpt-4o",
    )
    before = _dump(litellm_db)
    config = tmp_path / "voice.yaml"
    config.write_text(VOICE_CONFIG)
    server = Served("--config", str(config), "--emulator", "--database-url", litellm_db)
    try:
        async with session(server.port, key, model="voice") as ws:
            await text_turn(ws)

        async def voice_row() -> Any:
            rows = await litellm.logs(_token(key))
            return next((r for r in rows if r["call_type"] == "_arealtime"), None)

        row = await until(voice_row)
        assert row["spend"] > 0
        assert row["model_group"] == "voice"
        assert row["model"] == "gpt-realtime-2"
        assert row["team_id"] == team
        assert row["user"] == user
        assert row["status"] == "success"
        assert row["prompt_tokens"] > 0
        assert row["completion_tokens"] > 0
        assert row["total_tokens"] == row["prompt_tokens"] + row["completion_tokens"]
        assert row["endTime"] >= row["startTime"]
        metadata = json.loads(row["metadata"])
        assert metadata["user_api_key_alias"] == "voice"
        assert metadata["end_reason"] == "client_closed"
        # The counters LiteLLM's budgets read: the key's, its team's, its user's.
        assert await litellm.spend(
            "LiteLLM_VerificationToken", "token", _token(key)
        ) == pytest.approx(row["spend"])
        assert await litellm.spend("LiteLLM_TeamTable", "team_id", team) == pytest.approx(
            row["spend"]
        )
        assert await litellm.spend("LiteLLM_UserTable", "user_id", user) == pytest.approx(
            row["spend"]
        )
        assert await litellm.spend(
            "LiteLLM_OrganizationTable", "organization_id", organization
        ) == pytest.approx(row["spend"])
        member = await litellm.conn.fetchrow(
            'SELECT spend, total_spend FROM "LiteLLM_TeamMembership" WHERE user_id = $1',
            user,
        )
        assert member["spend"] == pytest.approx(row["spend"])
        assert member["total_spend"] == pytest.approx(row["spend"])

        # LiteLLM's usage pages read its daily aggregates: the session is the user's and
        # the team's request of the day. A second session of the key adds to the same rows.
        async with session(server.port, key, model="voice") as ws:
            await text_turn(ws)
        voice_rows = await until(lambda: _voice_rows(litellm, _token(key), count=2), within=60)
        for table, column, owner in (
            ("LiteLLM_DailyUserSpend", "user_id", user),
            ("LiteLLM_DailyTeamSpend", "team_id", team),
        ):
            [day] = await litellm.conn.fetch(
                f'SELECT * FROM "{table}" WHERE "{column}" = $1', owner
            )
            assert day["date"] == row["startTime"].date().isoformat()
            assert day["api_key"] == _token(key)
            assert (day["model"], day["model_group"]) == ("gpt-realtime-2", "voice")
            assert day["custom_llm_provider"] == "openai-realtime"
            assert (day["api_requests"], day["successful_requests"], day["failed_requests"]) == (
                2,
                2,
                0,
            )
            assert day["spend"] == pytest.approx(sum(r["spend"] for r in voice_rows))
            assert day["prompt_tokens"] == sum(r["prompt_tokens"] for r in voice_rows)
            assert day["completion_tokens"] == sum(r["completion_tokens"] for r in voice_rows)

        # /spend/logs lists LiteLLM's rows: the chat request and the sessions.
        admin = Admin(http, server.port)
        status, rows = await admin.get("/spend/logs", api_key=key)
        assert status == 200
        assert [r["call_type"] for r in rows] == ["acompletion", "_arealtime", "_arealtime"]
        # Keys are LiteLLM's to make and change.
        status, body = await admin.post("/key/generate", {})
        assert status == 400
        assert body["error"]["code"] == "keys_managed_by_litellm"

        # A master-key session is logged as LiteLLM logs the master key's requests.
        async with session(server.port, MASTER, model="voice") as ws:
            await text_turn(ws)
        [master_row] = await until(lambda: litellm.logs(_token(MASTER)))
        assert master_row["user"] == "default_user_id"
    finally:
        server.stop()
    assert "Traceback" not in server.stderr, server.stderr
    # LiteLLM's schema is as it was: rtcore's tables are in a schema of their own.
    assert _dump(litellm_db) == before
    rtcore_tables = _psql(
        litellm_db,
        "-At",
        "-c",
        "SELECT tablename FROM pg_tables WHERE schemaname = 'rtcore' ORDER BY 1",
    ).split()
    assert "rtcore_leases" in rtcore_tables


async def _voice_rows(litellm: LiteLLM, token: str, *, count: int) -> list[Any] | None:
    rows = [r for r in await litellm.logs(token) if r["call_type"] == "_arealtime"]
    return rows if len(rows) >= count else None


async def test_what_binds_a_litellm_key_binds(served: Served, litellm: LiteLLM) -> None:
    port = served.port
    spent_team = await litellm.team(max_budget=1.0, spend=1.0)
    spent_user = await litellm.user(max_budget=1.0, spend=1.0)
    cases = {
        "blocked": (await litellm.key(blocked=True), 401, "key_blocked"),
        "expired": (await litellm.key(expires=NOW - DAY), 401, "key_expired"),
        "key budget": (await litellm.key(max_budget=1.0, spend=1.0), 429, "budget_exceeded"),
        "team budget": (await litellm.key(team_id=spent_team), 429, "budget_exceeded"),
        "team blocked": (
            await litellm.key(team_id=await litellm.team(blocked=True)),
            401,
            "team_blocked",
        ),
        "user budget": (await litellm.key(user_id=spent_user), 429, "budget_exceeded"),
        "model": (await litellm.key(models=["other"]), 403, "model_not_allowed"),
        "unknown": ("sk-not-a-litellm-key", 401, "invalid_api_key"),
    }
    for name, (key, status, code) in cases.items():
        got, body = await refused(port, key)
        assert (got, body["error"]["code"]) == (status, code), (name, body)
    # A team key is held to its team's budget, not its user's (LiteLLM's rule).
    team = await litellm.team()
    async with session(port, await litellm.key(team_id=team, user_id=spent_user)):
        pass
    # A budget period over: what was spent in it no longer counts.
    renewed = await litellm.key(
        max_budget=1.0, spend=1.0, budget_duration="30d", budget_reset_at=NOW - DAY
    )
    async with session(port, renewed):
        pass
    # Not yet expired, budget left: let in.
    async with session(port, await litellm.key(expires=NOW + DAY, max_budget=5.0)):
        pass
    # The parallel limit binds while a session is live, and frees when it ends.
    one = await litellm.key(max_parallel_requests=1)
    async with session(port, one):
        got, body = await refused(port, one)
        assert (got, body["error"]["code"]) == (429, "max_parallel_requests")
    await until(lambda: _admitted(port, one))


async def test_a_team_budget_that_runs_out_ends_the_session_and_binds_every_replica(
    tmp_path: Path, litellm_db: str, litellm: LiteLLM
) -> None:
    a = serve(tmp_path, "--database-url", litellm_db)
    b = serve(tmp_path, "--database-url", litellm_db)
    try:
        team = await litellm.team(max_budget=0.01)  # one text turn spends it
        key = await litellm.key(team_id=team)
        other = await litellm.key(team_id=team)
        async with session(a.port, key) as ws:
            events = await text_turn(ws)
            assert events[-1]["response"]["status"] == "completed"  # the reply is whole
            async with asyncio.timeout(5):
                error = json.loads(await ws.recv())
            assert error["error"]["code"] == "budget_exceeded"
            await ws.wait_closed()
        # The team's spend is LiteLLM's counter: another key of the team, on the other
        # replica, is refused once it holds the session's spend.
        await until(lambda: _refused_with(b.port, other, 429))
        assert await litellm.spend("LiteLLM_TeamTable", "team_id", team) >= 0.01

        # The parallel limit holds across both replicas.
        one = await litellm.key(max_parallel_requests=1)
        async with session(a.port, one):
            got, body = await refused(b.port, one)
            assert (got, body["error"]["code"]) == (429, "max_parallel_requests")
        await until(lambda: _admitted(b.port, one))
    finally:
        a.stop()
        b.stop()


async def test_litellm_tables_in_the_schema_its_url_names(tmp_path: Path, postgres: str) -> None:
    """LiteLLM's Prisma URL may name its schema (``?schema=``): rtcore finds its tables
    there, and the URL's Prisma parameters do not reach the driver."""
    name = f"litellm_schema_{uuid.uuid4().hex[:8]}"
    _psql(postgres, "-c", f"CREATE DATABASE {name}")
    url = postgres.rsplit("/", 1)[0] + "/" + name
    try:
        _psql(url, "-c", "CREATE SCHEMA llm")
        files: list[str] = []
        for path in _migrations():
            files += ["-f", str(path)]
        _psql(url + "?options=-csearch_path%3Dllm", *files)
        conn = await asyncpg.connect(url, server_settings={"search_path": "llm"})
        try:
            litellm = LiteLLM(conn)
            key = await litellm.key()
            server = serve(tmp_path, "--database-url", url + "?schema=llm&connection_limit=5")
            try:
                async with session(server.port, key) as ws:
                    await text_turn(ws)
                [row] = await until(lambda: litellm.logs(_token(key)))
                assert row["spend"] > 0
            finally:
                server.stop()
            assert "schema 'llm'" in server.stderr
        finally:
            await conn.close()
        public = _psql(
            url, "-At", "-c", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        assert public.strip() == "0"
    finally:
        _psql(postgres, "-c", f"DROP DATABASE {name} WITH (FORCE)")


async def test_sessions_ending_while_litellms_database_is_down_are_written_once_back(
    tmp_path: Path, http: aiohttp.ClientSession, postgres_cluster: PostgresCluster
) -> None:
    """Records wait in the spool while the database is down and reach LiteLLM's spend log
    and counters once it is back, each once."""
    files: list[str] = []
    for path in _migrations():
        files += ["-f", str(path)]
    _psql(postgres_cluster.url, *files)
    conn = await asyncpg.connect(postgres_cluster.url)
    key = await LiteLLM(conn).key(max_budget=100.0)
    await conn.close()
    served = serve(tmp_path, "--database-url", postgres_cluster.url)
    try:
        async with session(served.port, key) as first, session(served.port, key) as second:
            await asyncio.to_thread(postgres_cluster.stop)
            for ws in (first, second):
                await text_turn(ws)
                await ws.close()
            await until(lambda: _store_unready(http, served.port), within=30)
            await asyncio.to_thread(postgres_cluster.start)
            await until(lambda: _store_ready(http, served.port), within=30)
        conn = await asyncpg.connect(postgres_cluster.url)
        try:
            litellm = LiteLLM(conn)

            async def both() -> list[Any] | None:
                rows = await litellm.logs(_token(key))
                return rows if len(rows) == 2 else None

            rows = await until(both, within=30)
            assert all(r["spend"] > 0 for r in rows)
            spent = await litellm.spend("LiteLLM_VerificationToken", "token", _token(key))
            assert spent == pytest.approx(sum(r["spend"] for r in rows))
        finally:
            await conn.close()
        assert served.proc.poll() is None
        assert "Traceback" not in served.stderr, served.stderr
    finally:
        served.stop()


def test_a_user_who_may_not_create_rtcores_schema_stops_the_start(
    tmp_path: Path, postgres: str, litellm_db: str
) -> None:
    """LiteLLM's database user without CREATE on the database: the start stops (exit 2)
    saying what to grant, and nothing is created."""
    role = f"litellm_{uuid.uuid4().hex[:8]}"
    _psql(litellm_db, "-c", f"CREATE ROLE {role} LOGIN")
    try:
        config = tmp_path / "config.yaml"
        config.write_text(VOICE_CONFIG)
        url = litellm_db.replace("postgres@", f"{role}@", 1)
        result = rtcore("serve", "--config", str(config), "--port", "0", "--database-url", url)
        assert result.returncode == 2, result.stderr
        assert "cannot create rtcore's schema 'rtcore'" in result.stderr
        assert "grant this user CREATE on the database" in result.stderr
        schemas = _psql(litellm_db, "-At", "-c", "SELECT nspname FROM pg_namespace").split()
        assert "rtcore" not in schemas
    finally:
        _psql(litellm_db, "-c", f"DROP ROLE {role}")


async def _store_unready(http: aiohttp.ClientSession, port: int) -> bool:
    async with http.get(f"http://127.0.0.1:{port}/health/readiness") as response:
        body = await response.json()
        return response.status == 503 and bool(body.get("key_store"))


async def _store_ready(http: aiohttp.ClientSession, port: int) -> bool:
    async with http.get(f"http://127.0.0.1:{port}/health/readiness") as response:
        return response.status == 200


async def _refused_with(port: int, key: str, status: int) -> bool:
    try:
        got, _ = await refused(port, key)
    except pytest.fail.Exception:
        return False
    return bool(got == status)


async def _admitted(port: int, key: str) -> bool:
    from tests.keys.conftest import admitted

    return await admitted(port, key)
