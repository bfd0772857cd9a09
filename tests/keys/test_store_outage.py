"""The key store's database failing under a real ``rtcore serve``: a SQLite file made
read-only or deleted mid-session, a real PostgreSQL stopped and started again with
sessions ending meanwhile. The server lives on; virtual keys, the admin API and minting are
refused with an OpenAI-shaped 503 and readiness names the store; master-key sessions go
on; once the store is back, every session that ended meanwhile is in ``/spend/logs`` and
in its key's spend, exactly."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import websockets

from tests.keys.conftest import (
    CONFIG,
    MASTER,
    Admin,
    admitted,
    refused,
    serve,
    session,
    text_turn,
    until,
)
from tests.postgres_server import PostgresCluster
from tests.transports.process import Served, rtcore

UNAVAILABLE = "key_store_unavailable"


@contextlib.contextmanager
def read_only(paths: Sequence[Path]) -> Iterator[None]:
    """Files and directories nobody may write: immutable (``chattr +i``) as root, whom
    permissions do not stop; without write permission otherwise."""
    done: list[tuple[Path, int]] = []
    root = os.geteuid() == 0
    if root and shutil.which("chattr") is None:
        pytest.skip("making a file read-only for root needs chattr (e2fsprogs)")
    try:
        for path in paths:
            if root:
                made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
                if made.returncode != 0:
                    pytest.skip(f"chattr +i is refused here: {made.stderr.decode().strip()}")
            else:
                path.chmod(0o555 if path.is_dir() else 0o444)
            done.append((path, path.stat().st_mode))
        yield
    finally:
        for path, mode in reversed(done):
            if root:
                subprocess.run(["chattr", "-i", str(path)], check=True)
            else:
                path.chmod(mode | 0o200)


def database_files(db: Path) -> list[Path]:
    """The SQLite file, whatever journal or WAL files it has, and its directory (not the
    spool, a directory of its own)."""
    return [*(p for p in db.parent.iterdir() if p.is_file()), db.parent]


def spend_of(events: list[dict[str, Any]]) -> float:
    """What a turn costs at the test config's prices (0.001 in, 0.002 out per token)."""
    done = next(e for e in events if e["type"] == "response.done")
    usage = done["response"]["usage"]
    cost = usage["input_tokens"] * 0.001 + usage["output_tokens"] * 0.002
    assert cost > 0
    return float(cost)


async def readiness(http: aiohttp.ClientSession, port: int) -> tuple[int, dict[str, Any]]:
    async with http.get(f"http://127.0.0.1:{port}/health/readiness") as response:
        return response.status, await response.json()


async def store_unready(http: aiohttp.ClientSession, port: int) -> dict[str, Any] | None:
    status, body = await readiness(http, port)
    return body if status == 503 and body.get("key_store") else None


async def store_ready(http: aiohttp.ClientSession, port: int) -> bool:
    return (await readiness(http, port))[0] == 200


async def mint(http: aiohttp.ClientSession, port: int, key: str) -> tuple[int, Any]:
    async with http.post(
        f"http://127.0.0.1:{port}/v1/realtime/client_secrets",
        json={"session": {"type": "realtime", "model": "echo"}},
        headers={"Authorization": f"Bearer {key}"},
    ) as response:
        return response.status, await response.json()


def assert_unavailable(status: int, body: Any) -> None:
    assert status == 503, body
    error = body["error"]
    assert error["code"] == UNAVAILABLE, body
    assert error["type"] == "server_error"
    assert error["message"]
    assert "param" in error


async def assert_every_door_says_unavailable(
    http: aiohttp.ClientSession, port: int, key: str
) -> None:
    """While the store is down: a virtual key's upgrade, its WebRTC call and sideband,
    the admin API and minting all answer 503 in OpenAI's error shape (never a plain-text
    500: ``json()`` would raise on one)."""
    assert_unavailable(*(await refused(port, key)))
    admin = Admin(http, port)
    assert_unavailable(*(await admin.post("/key/generate", {})))
    assert_unavailable(*(await admin.get("/key/info", key=key)))
    assert_unavailable(*(await admin.get("/key/list")))
    assert_unavailable(*(await admin.get("/spend/logs", api_key=key)))
    assert_unavailable(*(await mint(http, port, MASTER)))
    assert_unavailable(*(await mint(http, port, key)))
    async with http.post(
        f"http://127.0.0.1:{port}/v1/realtime/calls?model=echo",
        data=b"v=0\r\n",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"},
    ) as response:
        assert_unavailable(response.status, await response.json())
    with pytest.raises(websockets.InvalidStatus) as sideband:
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/v1/realtime?call_id=rtc_x",
            additional_headers={"Authorization": f"Bearer {key}"},
        ):
            pass
    assert_unavailable(
        sideband.value.response.status_code, json.loads(sideband.value.response.body)
    )


async def spend_rows(admin: Admin, key: str, count: int) -> list[dict[str, Any]]:
    async def rows() -> list[dict[str, Any]] | None:
        status, found = await admin.get("/spend/logs", api_key=key)
        return list(found) if status == 200 and len(found) >= count else None

    found: list[dict[str, Any]] = await until(rows, within=30)
    assert len(found) == count, found
    return found


async def assert_spend_exact(admin: Admin, key: str, costs: list[float]) -> None:
    rows = await spend_rows(admin, key, len(costs))
    assert sorted(float(r["spend"]) for r in rows) == pytest.approx(sorted(costs), abs=1e-9)
    assert len({r["request_id"] for r in rows}) == len(costs)

    async def info() -> dict[str, Any] | None:
        # With --workers, each answers once it has found the store back itself.
        status, found = await admin.get("/key/info", key=key)
        return dict(found["info"]) if status == 200 else None

    found = await until(info, within=30)
    assert found["spend"] == pytest.approx(sum(costs), abs=1e-9)


def assert_alive(served: Served) -> None:
    assert served.proc.poll() is None, served.stderr
    assert "Traceback" not in served.stderr, served.stderr


async def test_a_read_only_sqlite_file_is_an_outage_not_a_crash(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    db = tmp_path / "store" / "keys.db"
    served = serve(tmp_path, "--database-url", f"sqlite:///{db}")
    try:
        admin = Admin(http, served.port)
        key = await admin.generate(key_alias="read-only")
        costs: list[float] = []
        async with (
            session(served.port, key) as first,
            session(served.port, key) as second,
            session(served.port, MASTER) as master,
        ):
            with read_only(database_files(db)):
                # Two sessions end while nothing can be written: their records wait.
                for ws in (first, second):
                    costs.append(spend_of(await text_turn(ws)))
                    await ws.close()
                body = await until(lambda: store_unready(http, served.port), within=30)
                assert body["status"] == "unavailable"
                assert "key_store" in body
                await assert_every_door_says_unavailable(http, served.port, key)
                # The master key needs no store: its session goes on.
                assert (await text_turn(master))[-1]["type"] == "response.done"
                assert_alive(served)
            await until(lambda: store_ready(http, served.port), within=30)
            assert (await text_turn(master))[-1]["type"] == "response.done"
        await assert_spend_exact(admin, key, costs)
        assert await admitted(served.port, key)

        async def spool_empty() -> bool:
            # Each record passes through the spool: the last sessions' are on their way.
            return not list((db.parent / "keys.db-spool").glob("*.json"))

        await until(spool_empty)
        assert_alive(served)
    finally:
        served.stop()


async def test_a_deleted_sqlite_file_is_created_again_and_the_session_recorded_in_it(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    db = tmp_path / "store" / "keys.db"
    served = serve(tmp_path, "--database-url", f"sqlite:///{db}")
    try:
        admin = Admin(http, served.port)
        key = await admin.generate(key_alias="deleted")
        async with session(served.port, key) as ws, session(served.port, MASTER) as master:
            for path in db.parent.iterdir():
                if path.is_file():
                    path.unlink()
            cost = spend_of(await text_turn(ws))
            await ws.close()
            # The session ended after its key's file went: its record is in the new one.
            [row] = await spend_rows(admin, key, 1)
            assert float(row["spend"]) == pytest.approx(cost, abs=1e-9)
            assert db.is_file()
            assert await store_ready(http, served.port)
            assert (await text_turn(master))[-1]["type"] == "response.done"
        # The key went with the file it was in; the new database serves new keys.
        assert (await refused(served.port, key))[0] == 401
        fresh = await admin.generate(key_alias="after")
        async with session(served.port, fresh) as ws:
            fresh_cost = spend_of(await text_turn(ws))
        await assert_spend_exact(admin, fresh, [fresh_cost])
        await served.logged("was deleted")
        assert_alive(served)
    finally:
        served.stop()


async def test_records_waiting_at_a_clean_stop_are_written_at_the_next_start(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    db = tmp_path / "store" / "keys.db"
    spool = tmp_path / "store" / "keys.db-spool"
    url = f"sqlite:///{db}"
    served = serve(tmp_path, "--database-url", url)
    try:
        admin = Admin(http, served.port)
        key = await admin.generate(key_alias="stopped")
        async with session(served.port, key) as ws:
            with read_only(database_files(db)):
                cost = spend_of(await text_turn(ws))
                await ws.close()
                await until(lambda: store_unready(http, served.port), within=30)
                assert served.stop() == 0
                assert len(list(spool.glob("*.json"))) == 1
    finally:
        served.stop()
    again = serve(tmp_path, "--database-url", url)
    try:
        await assert_spend_exact(Admin(http, again.port), key, [cost])
        assert not list(spool.glob("*.json"))
    finally:
        again.stop()


def test_an_unwritable_database_or_spool_stops_the_start_with_its_reason(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    db = tmp_path / "store" / "keys.db"
    url = f"sqlite:///{db}"
    Served("--config", str(config), "--database-url", url).stop()  # created, migrated

    def start(*args: str) -> subprocess.CompletedProcess[str]:
        return rtcore("serve", "--config", str(config), "--port", "0", *args)

    with read_only([db]):
        result = start("--database-url", url)
    assert result.returncode == 2, result.stderr
    assert f"the file {db} is not writable" in result.stderr
    assert result.stderr.startswith("rtcore serve: error:")

    locked = tmp_path / "locked"
    locked.mkdir()
    with read_only([locked]):
        result = start("--database-url", f"sqlite:///{locked / 'keys.db'}")
        assert result.returncode == 2, result.stderr
        assert f"the directory {locked} is not writable" in result.stderr
        result = start("--database-url", url, "--spool-dir", str(locked / "spool"))
        assert result.returncode == 2, result.stderr
        assert "spool" in result.stderr
    assert "Traceback" not in result.stderr


async def test_postgresql_stopped_and_started_again_loses_no_session(
    tmp_path: Path, http: aiohttp.ClientSession, postgres_cluster: PostgresCluster
) -> None:
    served = serve(tmp_path, "--database-url", postgres_cluster.url)
    try:
        admin = Admin(http, served.port)
        key = await admin.generate(key_alias="pg-outage", max_budget=100.0)
        costs: list[float] = []
        async with session(served.port, key) as ws:  # one before the outage
            costs.append(spend_of(await text_turn(ws)))
        await spend_rows(admin, key, 1)
        async with (
            session(served.port, key) as first,
            session(served.port, key) as second,
            session(served.port, MASTER) as master,
        ):
            await asyncio.to_thread(postgres_cluster.stop)
            for ws in (first, second):
                costs.append(spend_of(await text_turn(ws)))
                await ws.close()
            body = await until(lambda: store_unready(http, served.port), within=30)
            assert body["status"] == "unavailable"
            await assert_every_door_says_unavailable(http, served.port, key)
            assert (await text_turn(master))[-1]["type"] == "response.done"
            assert_alive(served)

            await asyncio.to_thread(postgres_cluster.start)
            await until(lambda: store_ready(http, served.port), within=30)
            assert (await text_turn(master))[-1]["type"] == "response.done"
        await assert_spend_exact(admin, key, costs)
        # The sessions' leases went with their records: the key opens sessions again.
        assert await admitted(served.port, key)
        assert_alive(served)
    finally:
        served.stop()


async def test_workers_sharing_one_sqlite_file_hold_the_limit_and_lose_nothing(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """``--workers 2`` on one SQLite file (a rollback journal, no WAL): the parallel limit
    holds across the processes under concurrent opens, and sessions ending on either while
    the file is read-only are all counted once it is writable again."""
    db = tmp_path / "store" / "keys.db"
    served = serve(tmp_path, "--workers", "2", "--database-url", f"sqlite:///{db}")
    try:
        admin = Admin(http, served.port)
        limited = await admin.generate(max_parallel_requests=2)
        headers = {"Authorization": f"Bearer {limited}"}

        async def try_open() -> websockets.ClientConnection | None:
            try:
                return await websockets.connect(
                    f"ws://127.0.0.1:{served.port}/v1/realtime?model=echo",
                    additional_headers=headers,
                )
            except websockets.InvalidStatus:
                return None

        opened = await asyncio.gather(*(try_open() for _ in range(10)))
        live = [ws for ws in opened if ws is not None]
        try:
            assert len(live) == 2, len(live)
        finally:
            for ws in live:
                await ws.close()

        key = await admin.generate(key_alias="workers")
        costs: list[float] = []
        async with contextlib.AsyncExitStack() as stack:
            sessions = [
                await stack.enter_async_context(session(served.port, key)) for _ in range(4)
            ]
            with read_only(database_files(db)):
                for ws in sessions:
                    costs.append(spend_of(await text_turn(ws)))
                    await ws.close()
                await until(lambda: store_unready(http, served.port), within=30)
        await until(lambda: store_ready(http, served.port), within=30)
        await assert_spend_exact(admin, key, costs)
        assert "Traceback" not in served.stderr
    finally:
        assert served.stop() == 0
