"""Two ``rtcore serve`` replicas sharing a real PostgreSQL (Debian's, started by the test):
a key's parallel limit holds across them, a replica killed with SIGKILL gives its
sessions' leases back within the lease time, and spend recorded by either is read through
the other."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import websockets

from rtcore.keys.store import LEASE_SECONDS
from tests.keys.conftest import Admin, admitted, refused, serve, session, text_turn, until


async def test_limits_and_spend_across_two_replicas(
    tmp_path: Path, http: aiohttp.ClientSession, postgres: str
) -> None:
    a = serve(tmp_path / "..", "--database-url", postgres)
    b = serve(tmp_path / "..", "--database-url", postgres)
    try:
        key = await Admin(http, a.port).generate(max_parallel_requests=1, key_alias="fleet")
        # Minted on one replica, known to the other.
        async with session(a.port, key) as ws:
            status, body = await refused(b.port, key)
            assert status == 429
            assert body["error"]["code"] == "max_parallel_requests"
            await text_turn(ws)
        # a's session is over: its lease goes as it winds down.
        await until(lambda: admitted(b.port, key), within=5)

        async def on_b() -> list[object]:
            _, rows = await Admin(http, b.port).get("/spend/logs", api_key=key)
            return [r for r in rows if r["spend"] > 0]

        [row] = await until(on_b)  # a's session, read through b
        _, info = await Admin(http, b.port).get("/key/info", key=key)
        assert info["info"]["spend"] == row["spend"]
    finally:
        a.stop()
        b.stop()


async def test_a_killed_replica_releases_its_leases(
    tmp_path: Path, http: aiohttp.ClientSession, postgres: str
) -> None:
    a = serve(tmp_path, "--database-url", postgres)
    b = serve(tmp_path, "--database-url", postgres)
    try:
        key = await Admin(http, b.port).generate(max_parallel_requests=1)
        url = f"ws://127.0.0.1:{a.port}/v1/realtime?model=echo"
        ws = await websockets.connect(url, additional_headers={"Authorization": f"Bearer {key}"})
        await ws.recv()  # session.created: a holds the key's one lease
        assert (await refused(b.port, key))[0] == 429
        a.proc.kill()  # SIGKILL: no chance to release anything
        killed = time.monotonic()
        await ws.close()

        await until(lambda: admitted(b.port, key), within=LEASE_SECONDS + 10)
        waited = time.monotonic() - killed
        # The lease ran out: not before it could have, not long after.
        assert waited <= LEASE_SECONDS + 5, waited
    finally:
        a.stop()
        b.stop()


async def test_concurrent_admissions_never_exceed_the_limit(
    tmp_path: Path, http: aiohttp.ClientSession, postgres: str
) -> None:
    a = serve(tmp_path, "--database-url", postgres)
    b = serve(tmp_path, "--database-url", postgres)
    try:
        key = await Admin(http, a.port).generate(max_parallel_requests=2)
        headers = {"Authorization": f"Bearer {key}"}

        async def try_open(port: int) -> websockets.ClientConnection | None:
            try:
                return await websockets.connect(
                    f"ws://127.0.0.1:{port}/v1/realtime?model=echo", additional_headers=headers
                )
            except websockets.InvalidStatus:
                return None

        opened = await asyncio.gather(*(try_open(p) for p in [a.port, b.port] * 5))
        live = [ws for ws in opened if ws is not None]
        try:
            assert len(live) == 2, len(live)
        finally:
            for ws in live:
                await ws.close()
    finally:
        a.stop()
        b.stop()


async def test_replicas_starting_together_on_an_empty_database_migrate_it_once(
    postgres: str,
) -> None:
    """Pods of a fresh deployment start at once: each migrates the empty database, one at
    a time (an advisory lock), and the others find it done."""
    import asyncpg

    from rtcore.keys.store import KeyStore

    admin = await asyncpg.connect(postgres)
    try:
        await admin.execute("DROP DATABASE IF EXISTS fresh_fleet")
        await admin.execute("CREATE DATABASE fresh_fleet")
    finally:
        await admin.close()
    url = postgres.rsplit("/", 1)[0] + "/fresh_fleet"
    # Unserialised, the concurrent migrations deadlock on each other's DDL.
    async with asyncio.timeout(60):
        stores = await asyncio.gather(*(KeyStore.open(url) for _ in range(4)))
    try:
        key = await stores[0].generate({"key_alias": "first"})
        await stores[3].standing(key["token"])  # known to the last: no refusal
    finally:
        for store in stores:
            await store.aclose()


async def test_a_secret_is_redeemed_once_across_replicas_and_not_by_a_refusal(
    tmp_path: Path, http: aiohttp.ClientSession, postgres: str
) -> None:
    a = serve(tmp_path, "--database-url", postgres)
    b = serve(tmp_path, "--database-url", postgres)
    try:
        key = await Admin(http, a.port).generate()

        async def mint() -> str:
            status, body = await Admin(http, a.port, key=key).post(
                "/v1/realtime/client_secrets", {"session": {"type": "realtime", "model": "echo"}}
            )
            assert status == 200, body
            return str(body["value"])

        # Offered for another model, on either replica: refused and not spent.
        secret = await mint()
        for port in (a.port, b.port):
            status, body = await refused(port, secret, model="other")
            assert (status, body["error"]["code"]) == (400, "model_mismatch")
        assert await admitted(b.port, secret)
        assert (await refused(a.port, secret))[1]["error"]["code"] == "client_secret_used"

        # Twenty clients race one secret over both replicas: one session opens.
        secret = await mint()
        opened = await asyncio.gather(*(admitted(p, secret) for p in [a.port, b.port] * 10))
        assert opened.count(True) == 1, opened
    finally:
        a.stop()
        b.stop()
