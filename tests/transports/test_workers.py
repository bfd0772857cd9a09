"""``rtcore serve --workers N``: real processes sharing one port, supervised by a parent."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.transports.process import Served, rtcore
from tests.transports.test_serve_e2e import streamed_text, text_turn

WORKER_HEADER = "x-rtcore-worker"


def _worker_pid(port: int) -> int:
    """GET /health on a fresh connection; the pid of the worker that answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == WORKER_HEADER:
            return int(value)
    raise AssertionError(f"no {WORKER_HEADER} header in {head!r}")


def _pids_answering(port: int, want: int, limit: float = 20.0) -> set[int]:
    """Workers start one by one: ask until ``want`` have answered, or ``limit`` passes."""
    seen: set[int] = set()
    deadline = time.monotonic() + limit
    while len(seen) < want and time.monotonic() < deadline:
        seen.add(_worker_pid(port))
    return seen


def _parent_of(pid: int) -> int:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return int(raw[raw.rindex(")") + 2 :].split()[1])


def _command_line(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"


def _wait_gone(pids: set[int], limit: float = 10.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


async def _echo_session(url: str) -> str:
    async with connect(url, proxy=None) as ws:
        created = json.loads(await ws.recv())
        assert created["type"] == "session.created"
        return str(created["session"]["model"])


async def test_connections_spread_over_workers_and_sigterm_stops_all() -> None:
    with Served("--provider", "echo", "--workers", "2") as server:
        pids = _pids_answering(server.port, 2)
        assert len(pids) == 2, pids
        assert {_parent_of(p) for p in pids} == {server.proc.pid}
        for _ in range(4):  # sessions work whichever worker takes them
            assert await _echo_session(server.url()) == "echo"
        assert server.stop(signal.SIGTERM) == 0
    assert _wait_gone(pids), "a worker outlived its parent"
    stderr = server.stderr
    assert stderr.count("listening on ws://") == 1, stderr
    assert stderr.count("stopped by SIGTERM") == 3, stderr  # two workers and the parent
    assert "Traceback" not in stderr, stderr
    assert "Fatal" not in stderr, stderr


async def test_sigint_is_forwarded_and_a_dead_worker_is_replaced() -> None:
    with Served("--provider", "echo", "--workers", "2") as server:
        pids = _pids_answering(server.port, 2)
        assert len(pids) == 2, pids
        # Forked from the parent at start (its command line, its imports)...
        parent = _command_line(server.proc.pid)
        assert [_command_line(p) for p in pids] == [parent, parent]
        # Killed right after the start: replaced, not taken for a failed start.
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 20
        fresh: set[int] = set()
        while time.monotonic() < deadline and not fresh:
            # A connection queued on the killed worker's socket as it died is reset.
            with contextlib.suppress(ConnectionResetError):
                fresh = _pids_answering(server.port, 2, limit=0.5) - pids
        assert fresh, server.stderr
        # ...and a replacement is a fresh interpreter: the parent runs threads by now.
        (replacement,) = fresh
        assert _command_line(replacement)[1:3] == ["-m", "rtcore.workers"]
        assert await _echo_session(server.url()) == "echo"
        assert server.stop(signal.SIGINT) == 0
    assert _wait_gone(pids | fresh)
    assert "starting it again" in server.stderr
    assert "stopped by SIGINT" in server.stderr


def test_workers_refuse_what_cannot_work(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "model_list:\n  - model_name: e\n    litellm_params: {model: echo/echo-1, "
        "chunk_delay_ms: -5}\n"
    )
    result = rtcore("serve", "--config", str(config), "--workers", "2", "--port", "0")
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"rtcore serve: error: {config}: model_list[0].litellm_params: "
        "model 'e' (provider 'echo'): invalid echo model parameter"
    ), result.stderr
    assert result.stderr.count("rtcore serve: error") == 1
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = rtcore("serve", "--provider", "echo", "--workers", "2", "--port", str(port))
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr, result.stderr
    for args, message in [
        (["--workers", "0"], "--workers must be between 1 and"),
        (
            ["--workers", "2", "--transport", "stdio"],
            "--workers needs a transport whose processes can share a port",
        ),
    ]:
        result = rtcore("serve", "--provider", "echo", *args, input="")
        assert result.returncode == 2, args
        assert message in result.stderr, (args, result.stderr)


@pytest.mark.slow
async def test_workers_share_one_emulator(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    with Served("--provider", "bedrock-sonic", "--emulator", "--workers", "2", env=env) as server:
        pids = _pids_answering(server.port, 2)
        assert len(pids) == 2, pids
        for _ in range(3):
            events = await text_turn(server.url("bedrock-sonic"))
            assert events[0]["type"] == "session.created"
            assert [e for e in events if e["type"] == "error"] == []
            assert streamed_text(events) == "You said: Hello!"
        assert server.stop() == 0
    assert server.stderr.count("EMULATED REPLIES") == 1  # one emulator, in the parent
