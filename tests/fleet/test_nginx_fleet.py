"""A fleet: two ``rtcore serve`` replicas behind Debian's nginx, as docs/deploy.md sets
them up, sharing one PostgreSQL key store. Everything on loopback; the test starts and
stops its own nginx, replicas and database.

- sessions spread over both replicas, and a virtual key minted on one works on both;
- a replica drained with SIGTERM mid-response lets its client's response finish, then
  closes it with 1001, while nginx sends new sessions to the other replica;
- a quiet session outlives nginx's idle timeout because rtcore pings it (and, as the
  control, a session without pings does not).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.transports.process import Served
from tests.transports.turns import send_turn, user_turn

MASTER = "sk-fleet-master"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
# nginx closes a proxied connection that carried nothing for this long.
IDLE_TIMEOUT_SECONDS = 3
CONFIG = """\
model_list:
  - model_name: voice
    litellm_params: {model: echo/echo-1, chunk_delay_ms: 120}
general_settings:
  master_key: os.environ/FLEET_MASTER_KEY
"""

pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (.ci/run installs Debian's nginx-light)"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def nginx_conf(root: Path, listen: int, replicas: list[int]) -> str:
    """The proxy of docs/deploy.md, on loopback, with a short idle timeout."""
    servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=0;" for port in replicas)
    return f"""
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    upstream rtcore {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{listen};
        location / {{
            proxy_pass http://rtcore;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            # A draining replica answers new sessions 503: nginx tries the next one.
            proxy_next_upstream error timeout http_502 http_503;
            proxy_read_timeout {IDLE_TIMEOUT_SECONDS}s;
            proxy_send_timeout {IDLE_TIMEOUT_SECONDS}s;
        }}
    }}
}}
"""


@pytest.fixture
def nginx_root() -> Iterator[Path]:
    # Not under pytest's temp root (private to root): nginx's workers run as nobody.
    root = Path(tempfile.mkdtemp(prefix="rtcore-nginx-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


class Nginx:
    def __init__(self, root: Path, replicas: list[int]) -> None:
        assert NGINX is not None
        self.port = _free_port()
        conf = root / "nginx.conf"
        conf.write_text(nginx_conf(root, self.port, replicas))
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(root), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise AssertionError("nginx did not start") from None
                time.sleep(0.05)

    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/realtime?model=voice"

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        assert self.proc.stderr is not None
        with self.proc.stderr:
            return self.proc.stderr.read()


def replica(tmp_path: Path, name: str, database: str, *flags: str) -> Served:
    config = tmp_path / f"{name}.yaml"
    config.write_text(CONFIG)
    env = {"FLEET_MASTER_KEY": MASTER, "DATABASE_URL": database}
    return Served("--config", str(config), *flags, env=env)


def opened(served: Served) -> int:
    return sum("session opened" in line for line in served.lines)


async def session(url: str, key: str) -> ClientConnection:
    ws = await connect(url, proxy=None, additional_headers={"Authorization": f"Bearer {key}"})
    created = json.loads(await ws.recv())
    assert created["type"] == "session.created", created
    return ws


async def start_turn(ws: ClientConnection, text: str = "Hello!") -> None:
    await send_turn(ws, user_turn(text, ["text"]))


async def until(ws: ClientConnection, kind: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(20):
        while not events or events[-1]["type"] != kind:
            events.append(json.loads(await ws.recv()))
    return events


async def rest(ws: ClientConnection) -> tuple[list[str], int | None]:
    kinds: list[str] = []
    try:
        async with asyncio.timeout(30):
            while True:
                event = json.loads(await ws.recv())
                kinds.append(event["type"] if event["type"] != "error" else event["error"]["code"])
    except ConnectionClosed as closed:
        return kinds, closed.rcvd.code if closed.rcvd is not None else None


async def mint_key(port: int) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{port}/key/generate",
            # The suite's one database: an alias no other test takes.
            json={"key_alias": f"fleet-{secrets.token_hex(4)}"},
            headers={"Authorization": f"Bearer {MASTER}"},
        ) as answer,
    ):
        assert answer.status == 200
        return str((await answer.json())["key"])


async def test_two_replicas_behind_nginx_spread_drain_and_keep_quiet_sessions(
    tmp_path: Path,
    nginx_root: Path,
    postgres: str,
) -> None:
    a = replica(tmp_path, "a", postgres, "--ping-interval", "1")
    b = replica(tmp_path, "b", postgres, "--ping-interval", "1")
    proxy = Nginx(nginx_root, [a.port, b.port])
    try:
        # A virtual key minted through the proxy (on either replica) works on both.
        key = await mint_key(proxy.port)
        sockets = [await session(proxy.url(), key) for _ in range(4)]
        assert opened(a) >= 1, a.stderr
        assert opened(b) >= 1, b.stderr

        # Quiet for longer than nginx's idle timeout: pings keep every session open.
        await asyncio.sleep(IDLE_TIMEOUT_SECONDS + 2)
        for ws in sockets:
            await start_turn(ws)
            done = (await until(ws, "response.done"))[-1]
            assert done["response"]["status"] == "completed"

        # Drain replica a with responses in flight on every session.
        for ws in sockets:
            await start_turn(ws, "Hello! " * 6)
            await until(ws, "response.text.delta")
        on_a = opened(a)
        a.proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        # New sessions meanwhile land on b (a refuses them 503; nginx tries b).
        before_b = opened(b)
        fresh = [await session(proxy.url(), key) for _ in range(3)]
        assert opened(b) == before_b + 3
        assert opened(a) == on_a
        ending = {asyncio.create_task(rest(ws)): ws for ws in sockets}
        done, still_open = await asyncio.wait(ending, timeout=15)
        for task in still_open:
            task.cancel()  # b's sessions: they stay open
        # a's clients: their response completed, then the last word, then "going away".
        assert len(done) == on_a, (len(done), on_a)
        for task in done:
            kinds, code = task.result()
            assert kinds[-2:] == ["response.done", "server_shutting_down"], kinds
            assert code == 1001
        assert await asyncio.to_thread(a.proc.wait, 30) == 0
        # b's sessions and the fresh ones go on.
        for ws in [*(ending[t] for t in still_open), *fresh]:
            await start_turn(ws)
            assert (await until(ws, "response.done"))[-1]["response"]["status"] == "completed"
            await ws.close()
    finally:
        nginx_log = proxy.stop()
        await asyncio.to_thread(a.stop)
        await asyncio.to_thread(b.stop)
    assert "Traceback" not in a.stderr + b.stderr
    assert "SIGTERM received: draining" in a.stderr
    assert "[emerg]" not in nginx_log, nginx_log


async def test_without_pings_nginx_closes_a_quiet_session(
    tmp_path: Path,
    nginx_root: Path,
    postgres: str,
) -> None:
    """The control: the same proxy ends a session quiet past its idle timeout when rtcore
    does not ping, so the test above would see it."""
    a = replica(tmp_path, "a", postgres, "--ping-interval", "0")
    proxy = Nginx(nginx_root, [a.port])
    try:
        ws = await session(proxy.url(), MASTER)
        began = time.monotonic()
        kinds, _ = await rest(ws)  # until nginx closes it (rest gives up after 30 s)
        assert kinds == ["conversation.created"]
        assert IDLE_TIMEOUT_SECONDS - 0.5 <= time.monotonic() - began < 20
    finally:
        proxy.stop()
        await asyncio.to_thread(a.stop)
