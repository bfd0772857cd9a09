"""LiteLLM's key API as operators script it, against real ``rtcore serve`` processes, on a
SQLite file and on a real PostgreSQL: a chosen key and a duplicate refused, LiteLLM's key
fields stored and shown, ``key_type``, ``rpm_limit`` and ``tpm_limit`` enforced at the door
(across two servers sharing the database), ``/key/regenerate``, ``/key/block`` and
``/key/unblock``, a key reading its own ``/key/info`` and no other's, ``/model/info``
without secrets, and ``/health/liveness``."""

from __future__ import annotations

import asyncio
import datetime
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
import websockets

from rtcore.keys.hashing import hash_key
from tests.keys.conftest import (
    CONFIG,
    MASTER,
    Admin,
    admitted,
    refused,
    session,
    text_turn,
    until,
)
from tests.transports.process import Served

PROVIDER_SECRET = "sk-provider-secret-value-1234"
AWS_SECRET = "aws-secret-value-5678"
# The conftest's models, one with what a real deployment's entry holds: credentials
# (which /model/info must never show), an endpoint, prices.
MODEL_INFO_CONFIG = CONFIG.replace(
    "    litellm_params: {model: echo/echo-1}\n    model_info: {mode: realtime}\n",
    "    litellm_params: {model: echo/echo-1, api_key: "
    + PROVIDER_SECRET
    + ", aws_secret_access_key: "
    + AWS_SECRET
    + ", api_base: 'http://127.0.0.1:9', input_cost_per_token: 0.5}\n"
    "    model_info: {mode: realtime, id: other-1, base_model: echo-1}\n",
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'keys.db'}"
    return str(request.getfixturevalue("postgres"))


@pytest.fixture
def served(tmp_path: Path, database: str) -> Iterator[Served]:
    with start(tmp_path, database) as server:
        yield server


def start(tmp_path: Path, database: str, config_text: str = CONFIG) -> Served:
    config = tmp_path / f"config-{uuid.uuid4().hex[:8]}.yaml"
    config.write_text(config_text)
    return Served("--config", str(config), "--database-url", database)


def unique(prefix: str) -> str:
    """Names the tests sharing one PostgreSQL never reuse."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def get(
    http: aiohttp.ClientSession, port: int, path: str, bearer: str, **query: str
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {bearer}"}
    async with http.get(f"http://127.0.0.1:{port}{path}", params=query, headers=headers) as r:
        return r.status, await r.json()


async def early_in_a_minute() -> None:
    """Until at most 40 s of this minute have passed: a test of a per-minute count then
    runs inside one minute (a slow moment notwithstanding, it takes a few seconds)."""

    async def early() -> bool:
        return datetime.datetime.now(datetime.UTC).second <= 40

    await until(early, within=30)


async def test_a_chosen_key_and_litellms_fields(
    served: Served, http: aiohttp.ClientSession
) -> None:
    admin = Admin(http, served.port)
    chosen = unique("sk-carried-over")
    team, user = unique("team"), unique("user")
    status, made = await admin.post(
        "/key/generate",
        {
            "key": chosen,
            "team_id": team,
            "user_id": user,
            "tags": ["voice", "support"],
            "key_type": "llm_api",
            "rpm_limit": 100,
            "tpm_limit": 100_000,
            "metadata": {"owner": "ops"},
        },
    )
    assert status == 200, made
    assert made["key"] == chosen
    assert made["token"] == hash_key(chosen)
    assert made["key_name"] == f"sk-...{chosen[-4:]}"
    expected = {
        "team_id": team,
        "user_id": user,
        "tags": ["voice", "support"],
        "key_type": "llm_api",
        "rpm_limit": 100,
        "tpm_limit": 100_000,
    }
    for field, value in expected.items():
        assert made[field] == value, field
    # Tags live in the metadata, as LiteLLM keeps them.
    assert made["metadata"] == {"owner": "ops", "tags": ["voice", "support"]}

    # The chosen key opens sessions.
    async with session(served.port, chosen) as ws:
        assert (await text_turn(ws))[-1]["type"] == "response.done"

    status, info = await admin.get("/key/info", key=chosen)
    assert status == 200
    for field, value in expected.items():
        assert info["info"][field] == value, field
    status, listed = await admin.get("/key/list", team_id=team)
    assert listed["keys"] == [made["token"]]
    status, listed = await admin.get("/key/list", user_id=user, return_full_object="true")
    assert [k["user_id"] for k in listed["keys"]] == [user]
    assert (await admin.get("/key/list", team_id=unique("nobody")))[1]["total_count"] == 0

    # Changed by /key/update; tags replace the tags and keep the rest of the metadata.
    status, updated = await admin.post(
        "/key/update", {"key": chosen, "tags": ["voice"], "rpm_limit": None, "team_id": None}
    )
    assert status == 200, updated
    assert updated["tags"] == ["voice"]
    assert updated["metadata"] == {"owner": "ops", "tags": ["voice"]}
    assert updated["rpm_limit"] is None
    assert updated["team_id"] is None

    # The same key again: refused, and the first one is untouched.
    status, body = await admin.post("/key/generate", {"key": chosen, "key_alias": unique("x")})
    assert status == 400
    assert body["error"]["code"] == "key_exists"
    assert body["error"]["param"] == "key"
    assert (await admin.get("/key/info", key=chosen))[1]["info"]["tags"] == ["voice"]

    # LiteLLM's rule: a virtual key starts with "sk-". The refusal does not repeat it.
    for bad in ("pk-live-0123456789abcdef", "sk-", "sk-with space", "sk-é", 42):
        status, body = await admin.post("/key/generate", {"key": bad})
        assert status == 400, bad
        assert body["error"]["param"] == "key"
        assert body["error"]["type"] == "invalid_request_error"
        assert "start with 'sk-'" in body["error"]["message"]
        assert "pk-live-0123456789abcdef" not in body["error"]["message"]
    status, body = await admin.post("/key/generate", {"key": MASTER})
    assert (status, body["error"]["code"]) == (400, "key_exists")


async def test_key_types_that_are_not_for_model_calls_open_no_session(
    served: Served, http: aiohttp.ClientSession
) -> None:
    admin = Admin(http, served.port)
    for kind in ("read_only", "management"):
        key = await admin.generate(key_type=kind)
        status, body = await refused(served.port, key)
        assert status == 403
        assert body["error"]["code"] == "key_type_not_allowed"
        assert kind in body["error"]["message"]
        # Nor a client secret for a model, which would open one.
        async with http.post(
            f"http://127.0.0.1:{served.port}/v1/realtime/client_secrets",
            json={"session": {"type": "realtime", "model": "echo"}},
            headers={"Authorization": f"Bearer {key}"},
        ) as r:
            assert r.status == 403
            assert (await r.json())["error"]["code"] == "key_type_not_allowed"
        # It reads its own info.
        status, info = await get(http, served.port, "/key/info", key)
        assert (status, info["info"]["key_type"]) == (200, kind)
    for kind in ("llm_api", "default"):
        assert await admitted(served.port, await admin.generate(key_type=kind))
    assert (await admin.post("/key/generate", {}))[1]["key_type"] == "default"


async def test_regenerate_block_and_unblock(served: Served, http: aiohttp.ClientSession) -> None:
    admin = Admin(http, served.port)
    alias = unique("rotated")
    old = await admin.generate(key_alias=alias, max_parallel_requests=1, models=["echo"])
    async with session(served.port, old) as ws:
        # LiteLLM's path form, with fields changed as /key/update would.
        status, made = await admin.post(f"/key/{old}/regenerate", {"max_budget": 3.0})
        assert status == 200, made
        new = made["key"]
        assert new != old
        assert new.startswith("sk-")
        assert made["token_id"] == hash_key(new)
        assert (made["key_alias"], made["max_budget"], made["models"]) == (alias, 3.0, ["echo"])
        assert made["max_parallel_requests"] == 1
        # The old secret stops at once; the live session still holds the key's one lease.
        assert (await refused(served.port, old))[1]["error"]["code"] == "invalid_api_key"
        status, body = await refused(served.port, new)
        assert (status, body["error"]["code"]) == (429, "max_parallel_requests")
        await text_turn(ws)  # spent after the regeneration: charged to the key as it is now
    await until(lambda: admitted(served.port, new), within=10)

    async def charged() -> list[dict[str, Any]]:
        _, rows = await admin.get("/spend/logs", api_key=new)
        return [r for r in rows if r["spend"] > 0]

    [row] = await until(charged)
    _, info = await admin.get("/key/info", key=new)
    assert info["info"]["spend"] == row["spend"]
    assert (await admin.get("/key/info", key=old))[0] == 404

    # The body form, with a secret chosen by the operator.
    chosen = unique("sk-rotated")
    status, made = await admin.post("/key/regenerate", {"key": new, "new_key": chosen})
    assert status == 200, made
    assert made["key"] == chosen
    assert await admitted(served.port, chosen)
    assert not await admitted(served.port, new)
    _, info = await admin.get("/key/info", key=chosen)
    assert (info["info"]["key_alias"], info["info"]["max_budget"]) == (alias, 3.0)

    for body, status_code, code in (
        ({"key": "sk-no-such-key"}, 404, "key_not_found"),
        ({"key": chosen, "new_key": "not-sk"}, 400, "invalid_value"),
        ({"key": chosen, "bogus": 1}, 400, "unknown_parameter"),
        ({"key": chosen, "rpm_limit": -1}, 400, "invalid_value"),
        ({"key": chosen, "new_key": chosen}, 400, "key_exists"),
        ({"key": MASTER}, 400, "invalid_value"),
        ({}, 400, "invalid_value"),
    ):
        status, answer = await admin.post("/key/regenerate", body)
        assert (status, answer["error"]["code"]) == (status_code, code), body
    # None of those changed it (its one lease goes as the last session winds down).
    await until(lambda: admitted(served.port, chosen), within=10)

    # /key/block and /key/unblock take {"key": ...}, the key itself or its token.
    status, blocked = await admin.post("/key/block", {"key": chosen})
    assert (status, blocked["blocked"], blocked["key_alias"]) == (200, True, alias)
    status, body = await refused(served.port, chosen)
    assert (status, body["error"]["code"]) == (401, "key_blocked")
    status, unblocked = await admin.post("/key/unblock", {"key": hash_key(chosen)})
    assert (status, unblocked["blocked"]) == (200, False)
    await until(lambda: admitted(served.port, chosen), within=10)
    for path in ("/key/block", "/key/unblock"):
        status, body = await admin.post(path, {"key": "sk-no-such-key"})
        assert (status, body["error"]["code"]) == (404, "key_not_found")
        status, body = await admin.post(path, {"key": chosen, "blocked": True})
        assert (status, body["error"]["code"]) == (400, "unknown_parameter")
        status, body = await admin.post(path, {"key": 5})
        assert (status, body["error"]["param"]) == (400, "key")
        # The admin API's own rule: the master key only.
        status, body = await Admin(http, served.port, key=chosen).post(path, {"key": chosen})
        assert (status, body["error"]["code"]) == (401, "invalid_api_key")


async def test_a_key_reads_its_own_info_and_no_other(
    served: Served, http: aiohttp.ClientSession
) -> None:
    admin = Admin(http, served.port)
    mine = await admin.generate(key_alias=unique("mine"), max_budget=0)  # spent already
    theirs = await admin.generate(key_alias=unique("theirs"))
    their_token = hash_key(theirs)

    status, own = await get(http, served.port, "/key/info", mine)
    assert status == 200, own
    assert own["info"]["token"] == hash_key(mine)
    status, own = await get(http, served.port, "/key/info", mine, key=mine)
    assert (status, own["key"]) == (200, mine)
    # Over its budget, it still reads its spend.
    assert own["info"]["max_budget"] == 0.0

    for other in (theirs, their_token, "sk-no-such-key-at-all"):
        status, body = await get(http, served.port, "/key/info", mine, key=other)
        # 403 whether the other key exists or not: that is not this key's to learn.
        assert status == 403, other
        assert body["error"]["param"] == "key"
        assert their_token not in str(body)
    # Unknown, blocked and expired keys read nothing; a client secret is not a key.
    assert (await get(http, served.port, "/key/info", "sk-unknown"))[0] == 401
    blocked = await admin.generate(blocked=True)
    status, body = await get(http, served.port, "/key/info", blocked)
    assert (status, body["error"]["code"]) == (401, "key_blocked")
    status, body = await get(http, served.port, "/key/info", "ek_not-a-key")
    assert status == 401
    # The master key reads any key's.
    status, info = await admin.get("/key/info", key=theirs)
    assert (status, info["info"]["token"]) == (200, their_token)


async def test_rpm_limit_counts_sessions_opened_per_minute_across_servers(
    tmp_path: Path, database: str, http: aiohttp.ClientSession
) -> None:
    with start(tmp_path, database) as a, start(tmp_path, database) as b:
        admin = Admin(http, a.port)
        key = await admin.generate(rpm_limit=2)
        never = await admin.generate(rpm_limit=0)
        status, body = await refused(a.port, never)
        assert (status, body["error"]["code"]) == (429, "rate_limit_exceeded")

        await early_in_a_minute()
        assert await admitted(a.port, key)
        assert await admitted(b.port, key)  # the other server counts the same minute
        status, body = await refused(a.port, key)
        assert status == 429
        assert body["error"]["code"] == "rate_limit_exceeded"
        assert body["error"]["type"] == "rate_limit_error"
        assert "rpm_limit=2" in body["error"]["message"]
        assert (await refused(b.port, key))[0] == 429
        # The master key and other keys are not limited by it.
        assert await admitted(a.port, MASTER)
        assert await admitted(a.port, await admin.generate())
        # The next minute lets it in again.
        await until(lambda: admitted(b.port, key), within=75)


async def test_tpm_limit_ends_the_session_after_the_reply_and_refuses_new_ones(
    served: Served, http: aiohttp.ClientSession
) -> None:
    admin = Admin(http, served.port)
    key = await admin.generate(tpm_limit=1)
    roomy = await admin.generate(tpm_limit=1_000_000)
    await early_in_a_minute()
    async with session(served.port, key) as ws:
        events = await text_turn(ws)  # more than one token
        assert events[-1]["response"]["status"] == "completed"  # the reply is whole
        async with asyncio.timeout(10):
            error = json.loads(await ws.recv())
        assert error["type"] == "error"
        assert error["error"]["code"] == "rate_limit_exceeded"
        assert "tpm_limit=1" in error["error"]["message"]
        await ws.wait_closed()
    assert ws.close_code == 1013  # try again later
    async with session(served.port, roomy) as ws:
        await text_turn(ws)
        await text_turn(ws)  # a key with room goes on

    async def refused_for_tokens() -> dict[str, Any] | None:
        try:
            async with session(served.port, key):
                return None
        except websockets.InvalidStatus as refusal:
            answer = refusal.response
            return {"status": answer.status_code, **json.loads(answer.body)}

    # Its record (and tokens) are written as the session winds down.
    body = await until(refused_for_tokens, within=15)
    assert body["status"] == 429
    assert body["error"]["code"] == "rate_limit_exceeded"
    assert "tpm_limit=1" in body["error"]["message"]
    assert await admitted(served.port, roomy)


async def test_model_info_in_litellms_shape_without_secrets(
    tmp_path: Path, database: str, http: aiohttp.ClientSession
) -> None:
    with start(tmp_path, database, MODEL_INFO_CONFIG) as served:
        admin = Admin(http, served.port)
        for path in ("/model/info", "/v1/model/info"):
            status, raw = await get(http, served.port, path, MASTER)
            assert status == 200, raw
            assert PROVIDER_SECRET not in str(raw)
            assert AWS_SECRET not in str(raw)
            by_name = {d["model_name"]: d for d in raw["data"]}
            assert set(by_name) == {"echo", "other"}
            other = by_name["other"]
            assert other["litellm_params"] == {
                "model": "echo/echo-1",
                "api_base": "http://127.0.0.1:9",
                "input_cost_per_token": 0.5,
            }
            assert other["model_info"]["id"] == "other-1"
            assert other["model_info"]["mode"] == "realtime"
            assert other["model_info"]["base_model"] == "echo-1"
            assert by_name["echo"]["model_info"]["input_cost_per_token"] == 0.001
        # A virtual key sees the models it may open; LiteLLM's filter by deployment id.
        only_echo = await admin.generate(models=["echo"])
        status, mine = await get(http, served.port, "/model/info", only_echo)
        assert [d["model_name"] for d in mine["data"]] == ["echo"]
        status, one = await get(
            http, served.port, "/model/info", MASTER, litellm_model_id="other-1"
        )
        assert [d["model_name"] for d in one["data"]] == ["other"]
        status, body = await get(http, served.port, "/model/info", "sk-unknown")
        assert (status, body["error"]["code"]) == (401, "invalid_api_key")

        # LiteLLM's liveness answer, with no key.
        async with http.get(f"http://127.0.0.1:{served.port}/health/liveness") as r:
            assert (r.status, await r.json()) == (200, "I'm alive!")


@pytest.fixture
async def empty_database(database: str) -> str:
    """A database of its own, with nothing in it."""
    if database.startswith("sqlite"):
        return database
    import asyncpg

    name = unique("upgraded").replace("-", "_")
    admin = await asyncpg.connect(database)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return database.rsplit("/", 1)[0] + "/" + name


async def test_a_database_of_the_release_before_keeps_its_keys(empty_database: str) -> None:
    """Migrated from the schema before LiteLLM's key fields (0003): its keys keep working,
    with no team, user, tags or rate limits, and take the new fields."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy.ext.asyncio import create_async_engine

    from rtcore.keys.migrate import MIGRATIONS
    from rtcore.keys.store import KeyStore, async_url

    def to_0003(connection: sa.Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")

    key = unique("sk-from-before")
    now = datetime.datetime.now(datetime.UTC)
    engine = create_async_engine(async_url(empty_database))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(to_0003)
            # The table as 0003 left it: none of the new columns.
            before = sa.table(
                "rtcore_keys",
                *(sa.column(n) for n in ("token", "key_name", "spend", "blocked")),
                sa.column("models", sa.JSON),
                sa.column("metadata", sa.JSON),
                sa.column("created_at", sa.DateTime(timezone=True)),
                sa.column("updated_at", sa.DateTime(timezone=True)),
            )
            await conn.execute(
                sa.insert(before).values(
                    token=hash_key(key),
                    key_name="sk-...",
                    spend=0.0,
                    blocked=False,
                    models=[],
                    metadata={},
                    created_at=now,
                    updated_at=now,
                )
            )
    finally:
        await engine.dispose()

    store = await KeyStore.open(empty_database)
    try:
        info = (await store.info(key))["info"]
        assert (info["team_id"], info["key_type"], info["tags"], info["rpm_limit"]) == (
            None,
            "default",
            [],
            None,
        )
        admission = await store.admit(key, "echo")
        await store.release(admission)
        updated = await store.update({"key": key, "rpm_limit": 5, "team_id": "carried"})
        assert (updated["rpm_limit"], updated["team_id"]) == (5, "carried")
    finally:
        await store.aclose()
