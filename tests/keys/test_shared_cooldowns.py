"""Deployment cooldowns shared through the key database: two ``rtcore serve`` processes on
one SQLite file, and on a real PostgreSQL. A deployment that fails to open a session in
one is passed over by the other (which never tries it) once its refresh has read it; with
the database down (PostgreSQL stopped, the SQLite file read-only), each goes on routing
with cooldowns of its own, and what failed meanwhile is shared once the database is back."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.keys.conftest import MASTER, session
from tests.keys.test_store_outage import database_files, read_only
from tests.postgres_server import PostgresCluster
from tests.transports.process import Served

# Within one order the router picks at random: ``order`` makes the broken deployment the
# first choice of a process that does not know it failed.
CONFIG = """\
model_list:
  - model_name: echo
    litellm_params: {{model: echo/echo-1, unavailable: down for the test, order: 1}}
    model_info: {{mode: realtime, id: {broken}}}
  - model_name: echo
    litellm_params: {{model: echo/echo-1, order: 2}}
    model_info: {{mode: realtime, id: {good}}}
router_settings:
  cooldown_time: 600
general_settings:
  master_key: {master}
"""


def serve_pair(tmp_path: Path, database_url: str) -> tuple[Served, Served, str]:
    """Two servers of one config on one database; the broken deployment's id (new for each
    test: a shared PostgreSQL keeps rows between tests)."""
    broken = f"broken-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(broken=broken, good=f"good-{broken}", master=MASTER))
    a = Served("--config", str(config), "--database-url", database_url)
    try:
        b = Served("--config", str(config), "--database-url", database_url)
    except BaseException:
        a.stop()
        raise
    return a, b, broken


def tried(server: Served, deployment: str) -> bool:
    """The server tried ``deployment`` for a session, and it failed."""
    return f"deployment {deployment} of model 'echo' failed to open" in server.stderr


def learned(server: Served, deployment: str) -> bool:
    """The server read that ``deployment`` failed in another process."""
    return f"deployment {deployment} failed in another process" in server.stderr


async def logged(check: Callable[[], bool], within: float = 30.0) -> None:
    """Wait for a server's log to show something (the timeout is a safety net: the
    refresh runs every couple of seconds)."""
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - polls another process's log
            await asyncio.sleep(0.05)


async def one_session(server: Served) -> None:
    """A session opened and closed, and its end logged: whatever its opening logged (a
    deployment that failed) is in ``server.stderr`` by then."""
    ended = server.stderr.count("session ended")
    async with session(server.port, MASTER):
        pass
    await logged(lambda: server.stderr.count("session ended") > ended)


async def a_failure_in_one_is_heeded_by_the_other(a: Served, b: Served, broken: str) -> None:
    await one_session(a)
    assert tried(a, broken)  # a's first choice, refused: it cools down, in the database
    await logged(lambda: learned(b, broken))
    await one_session(b)
    # b went straight to the good deployment: the broken one was its first choice, had it
    # not known.
    assert not tried(b, broken), b.stderr
    # And a, knowing it from its own failure, does too.
    before = a.stderr.count(f"deployment {broken} of model")
    await one_session(a)
    assert a.stderr.count(f"deployment {broken} of model") == before


async def test_cooldowns_shared_through_one_sqlite_file(tmp_path: Path) -> None:
    a, b, broken = serve_pair(tmp_path, f"sqlite:///{tmp_path / 'keys.db'}")
    try:
        await a_failure_in_one_is_heeded_by_the_other(a, b, broken)
    finally:
        await asyncio.gather(asyncio.to_thread(a.stop), asyncio.to_thread(b.stop))


async def test_cooldowns_shared_through_postgresql(tmp_path: Path, postgres: str) -> None:
    a, b, broken = serve_pair(tmp_path, postgres)
    try:
        await a_failure_in_one_is_heeded_by_the_other(a, b, broken)
    finally:
        await asyncio.gather(asyncio.to_thread(a.stop), asyncio.to_thread(b.stop))


async def routing_goes_on_while_down(
    tmp_path: Path,
    url: str,
    down: Callable[[], Awaitable[None]],
    back: Callable[[], Awaitable[None]],
) -> None:
    a, b, broken = serve_pair(tmp_path, url)
    try:
        await down()
        await one_session(a)
        assert tried(a, broken)
        await logged(lambda: "cooldowns are this process's own" in a.stderr)
        # Sessions still open on both, failing over as before; a heeds its own cooldown.
        before = a.stderr.count(f"deployment {broken} of model")
        await one_session(a)
        assert a.stderr.count(f"deployment {broken} of model") == before
        await one_session(b)
        assert tried(b, broken)  # b could not be told
        assert a.stderr.count("cooldowns are this process's own") == 1, a.stderr
        assert "Traceback" not in a.stderr + b.stderr
        # Back: what failed meanwhile is written, and read by a server started now.
        await back()
        await logged(lambda: "deployment cooldowns are shared again" in a.stderr, within=60)
        c = Served("--config", str(tmp_path / "config.yaml"), "--database-url", url)
        try:
            await logged(lambda: learned(c, broken))
            await one_session(c)
            assert not tried(c, broken), c.stderr
        finally:
            await asyncio.to_thread(c.stop)
        assert "Traceback" not in a.stderr + b.stderr
    finally:
        await asyncio.gather(asyncio.to_thread(a.stop), asyncio.to_thread(b.stop))


async def test_routing_goes_on_while_postgresql_is_down(
    tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    async def down() -> None:
        await asyncio.to_thread(postgres_cluster.stop)

    async def back() -> None:
        await asyncio.to_thread(postgres_cluster.start)

    await routing_goes_on_while_down(tmp_path, postgres_cluster.url, down, back)


async def test_routing_goes_on_while_the_sqlite_file_is_read_only(tmp_path: Path) -> None:
    db = tmp_path / "db" / "keys.db"  # a directory of its own: the spool stays writable
    stack = contextlib.ExitStack()

    async def down() -> None:
        stack.enter_context(read_only(database_files(db)))

    async def back() -> None:
        stack.close()

    with stack:
        await routing_goes_on_while_down(tmp_path, f"sqlite:///{db}", down, back)
