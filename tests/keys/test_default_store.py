"""The default key store is the server's own: SQLite in the data directory, named by the
port the server listens on (``rtcore-4000.db``), so that two servers a user runs on one
machine never share keys unless a database URL says so; a restart on the same port keeps
them. A store of the earlier, shared kind is pointed out, never taken over silently. A
server on an ephemeral port (``--port 0``), which no restart can find again, keeps a store
of its own that goes when it stops."""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp
import pytest

from rtcore.keys.store import default_url
from tests.keys.conftest import Admin, admitted, serve


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_default_url_is_named_by_the_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_url(4000) == f"sqlite+aiosqlite:///{tmp_path}/rtcore/rtcore-4000.db"
    assert default_url(4100) == f"sqlite+aiosqlite:///{tmp_path}/rtcore/rtcore-4100.db"
    assert default_url() == f"sqlite+aiosqlite:///{tmp_path}/rtcore/rtcore.db"


async def test_two_servers_keep_their_keys_apart(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    data = tmp_path / "data"
    env = {"XDG_DATA_HOME": str(data)}
    first, second = free_port(), free_port()
    with serve(tmp_path, "--port", str(first), env=env) as one:
        key = await Admin(http, one.port).generate(key_alias="first-server")
        assert await admitted(one.port, key)
    assert f"virtual keys and spend logs in {data}/rtcore/rtcore-{first}.db" in one.stderr
    with serve(tmp_path, "--port", str(second), env=env) as two:
        assert not await admitted(two.port, key)  # another server: another store
    assert (data / "rtcore" / f"rtcore-{second}.db").exists()
    with serve(tmp_path, "--port", str(first), env=env) as again:
        assert await admitted(again.port, key)  # the same server, restarted: its keys
    assert not (data / "rtcore" / "rtcore.db").exists()
    assert "earlier rtcore" not in one.stderr + two.stderr + again.stderr


async def test_a_shared_store_of_before_is_pointed_out(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "rtcore").mkdir(parents=True)
    (data / "rtcore" / "rtcore.db").write_bytes(b"")
    port = free_port()
    with serve(tmp_path, "--port", str(port), env={"XDG_DATA_HOME": str(data)}) as served:
        pass
    (line,) = [line for line in served.lines if "earlier rtcore" in line]
    assert " WARNING " in line
    assert f"{data}/rtcore/rtcore.db holds the keys of an earlier rtcore" in line
    assert f"--database-url sqlite:///{data}/rtcore/rtcore.db" in line
    assert f"rtcore-{port}.db" in line


async def test_servers_on_ephemeral_ports_share_no_store(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    data, scratch = tmp_path / "data", tmp_path / "tmp"
    scratch.mkdir()
    env = {"XDG_DATA_HOME": str(data), "TMPDIR": str(scratch)}
    with serve(tmp_path, env=env) as one, serve(tmp_path, env=env) as two:
        assert len(list(scratch.glob("rtcore-keys-*/keys.db"))) == 2
        key = await Admin(http, one.port).generate(key_alias="ephemeral")
        assert await admitted(one.port, key)
        assert not await admitted(two.port, key)  # port 0 twice is not one server
    for served in (one, two):
        assert "keys made here last until this server stops" in served.stderr
        assert "earlier rtcore" not in served.stderr
    # Nothing left behind: no rtcore-0.db every such server would have shared, and
    # their own stores gone with them.
    assert not (data / "rtcore").exists() or not list((data / "rtcore").iterdir())
    assert not list(scratch.glob("rtcore-keys-*"))
    with serve(tmp_path, env=env) as again:
        assert not await admitted(again.port, key)
