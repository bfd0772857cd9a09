"""Virtual keys on the default store (SQLite in the data directory, no flags), one real
``rtcore serve``: LiteLLM-shaped requests for every admin endpoint, and each refusal a key
can earn, before the WebSocket upgrade."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp

from tests.keys.conftest import (
    MASTER,
    Admin,
    admitted,
    refused,
    serve,
    session,
    text_turn,
    until,
)


async def test_every_admin_endpoint_in_litellms_shape(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    served = serve(tmp_path, "--database-url", f"sqlite:///{store / 'keys.db'}")
    try:
        admin = Admin(http, served.port)
        status, made = await admin.post(
            "/key/generate",
            {
                "models": ["echo"],
                "max_parallel_requests": 2,
                "max_budget": 5.0,
                "budget_duration": "30d",
                "duration": "7d",
                "key_alias": "team-a",
                "metadata": {"team": "a"},
            },
        )
        assert status == 200, made
        key = made["key"]
        assert key.startswith("sk-")
        assert made["key_name"] == f"sk-...{key[-4:]}"
        for field, value in (
            ("models", ["echo"]),
            ("max_parallel_requests", 2),
            ("max_budget", 5.0),
            ("budget_duration", "30d"),
            ("key_alias", "team-a"),
            ("metadata", {"team": "a"}),
        ):
            assert made[field] == value, field
        assert made["expires"]
        assert made["budget_reset_at"]
        # Stored hashed: the database (and its spool) never holds the key itself.
        stored = b"".join(p.read_bytes() for p in store.rglob("*") if p.is_file())
        assert stored
        assert key.encode() not in stored
        assert made["token"].encode() in stored

        status, info = await admin.get("/key/info", key=key)
        assert status == 200
        assert info["key"] == key
        assert info["info"]["key_alias"] == "team-a"
        assert info["info"]["spend"] == 0.0

        status, updated = await admin.post("/key/update", {"key": key, "max_budget": 9.5})
        assert status == 200
        assert updated["max_budget"] == 9.5

        status, listed = await admin.get("/key/list")
        assert status == 200
        assert listed["keys"] == [made["token"]]
        assert listed["total_count"] == 1
        status, full = await admin.get("/key/list", return_full_object="true")
        assert full["keys"][0]["key_alias"] == "team-a"

        # A field LiteLLM has and rtcore does not enforce is refused, not ignored.
        status, body = await admin.post("/key/generate", {"soft_budget": 10})
        assert status == 400
        assert "soft_budget" in body["error"]["message"]

        status, deleted = await admin.post("/key/delete", {"keys": [key]})
        assert status == 200
        assert deleted == {"deleted_keys": [key]}
        status, body = await admin.get("/key/info", key=key)
        assert status == 404
        assert (await refused(served.port, key))[0] == 401

        # The admin API takes the master key only.
        status, body = await Admin(http, served.port, key="sk-nope").get("/key/list")
        assert status == 401
    finally:
        served.stop()


async def test_refusals_before_the_upgrade(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    served = serve(tmp_path)
    try:
        admin = Admin(http, served.port)
        status, body = await refused(served.port, "sk-unknown")
        assert status == 401
        assert body["error"]["code"] == "invalid_api_key"
        # ...before the model is looked up: no list of the configured models for it.
        status, body = await refused(served.port, "sk-unknown", model="no-such-model")
        assert status == 401
        assert body["error"]["code"] == "invalid_api_key"

        only_echo = await admin.generate(models=["echo"])
        status, body = await refused(served.port, only_echo, model="other")
        assert status == 403
        assert body["error"]["code"] == "model_not_allowed"
        assert "echo" in body["error"]["message"]

        spent = await admin.generate(max_budget=0)
        status, body = await refused(served.port, spent)
        assert status == 429
        assert body["error"]["type"] == "budget_exceeded"
        assert body["error"]["message"].startswith("Budget has been exceeded!")

        expiring = await admin.generate(duration="1s")
        await asyncio.sleep(1.2)
        status, body = await refused(served.port, expiring)
        assert status == 401
        assert body["error"]["code"] == "key_expired"

        single = await admin.generate(max_parallel_requests=1)
        async with session(served.port, single):
            status, body = await refused(served.port, single)
            assert status == 429
            assert body["error"]["code"] == "max_parallel_requests"
        # The lease goes with the session (as it winds down): the next one is let in.
        await until(lambda: admitted(served.port, single), within=5)
        # The master key is not limited by any of it.
        async with session(served.port, MASTER) as ws:
            assert (await text_turn(ws))[-1]["type"] == "response.done"
    finally:
        served.stop()


async def test_spend_is_recorded_once_per_session_and_handed_to_plugins(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    sink = tmp_path / "sessions.jsonl"
    served = serve(tmp_path, env={"RTCORE_ECHO_SESSION_LOG": str(sink)})
    try:
        admin = Admin(http, served.port)
        key = await admin.generate(key_alias="spender")
        async with session(served.port, key) as ws:
            done = next(e for e in await text_turn(ws) if e["type"] == "response.done")
        usage = done["response"]["usage"]
        # model_info prices: 0.001 per input token, 0.002 per output token.
        expected = usage["input_tokens"] * 0.001 + usage["output_tokens"] * 0.002
        assert expected > 0

        async def logged() -> list[dict[str, object]]:
            _, rows = await admin.get("/spend/logs", api_key=key)
            return list(rows)

        [row] = await until(logged)
        assert row["call_type"] == "realtime"
        assert row["model_group"] == "echo"
        assert abs(float(row["spend"]) - expected) < 1e-9
        assert row["prompt_tokens"] == usage["input_tokens"]
        assert row["completion_tokens"] == usage["output_tokens"]
        assert row["metadata"]["end_reason"] == "client_closed"
        assert row["metadata"]["user_api_key_alias"] == "spender"
        _, info = await admin.get("/key/info", key=key)
        assert abs(info["info"]["spend"] - expected) < 1e-9

        # The third-party plugin's hook had the same record.
        records = [json.loads(line) for line in sink.read_text().splitlines()]
        assert [r["request_id"] for r in records] == [row["request_id"]]
        assert records[0]["key_alias"] == "spender"
        assert abs(records[0]["spend"] - expected) < 1e-9
    finally:
        served.stop()


async def test_a_budget_that_runs_out_ends_the_session_after_the_reply(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    served = serve(tmp_path)
    try:
        admin = Admin(http, served.port)
        key = await admin.generate(max_budget=0.01)  # a text turn costs more
        async with session(served.port, key) as ws:
            events = await text_turn(ws)
            assert events[-1]["response"]["status"] == "completed"  # the reply is whole
            async with asyncio.timeout(5):
                error = json.loads(await ws.recv())
            assert error["type"] == "error"
            assert error["error"]["code"] == "budget_exceeded"
            await ws.wait_closed()
        assert ws.close_code == 1011
        assert (await refused(served.port, key))[0] == 429  # and no new session
    finally:
        served.stop()
