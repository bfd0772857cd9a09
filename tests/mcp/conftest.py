"""The tests' MCP server (tests/mcp/mcp_server.py) in a process of its own, on loopback."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER = Path(__file__).with_name("mcp_server.py")
START_SECONDS = 60.0
TOKEN = "s3cret-token"  # mcp_server.TOKEN
TOKEN_HEADER = {"Authorization": f"Bearer {TOKEN}"}


@dataclass(frozen=True)
class McpServers:
    http: int
    sse: int
    secure: int

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http}/mcp"

    @property
    def sse_url(self) -> str:
        return f"http://127.0.0.1:{self.sse}/sse"

    @property
    def secure_url(self) -> str:
        return f"http://127.0.0.1:{self.secure}/mcp"


@pytest.fixture(scope="session")
def mcp_servers() -> Iterator[McpServers]:
    proc = subprocess.Popen(
        [sys.executable, str(SERVER)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ports: dict[str, int] = {}
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            name, _, port = line.strip().partition(" ")
            if name == "ready":
                ready.set()
            elif port:
                ports[name] = int(port)
        ready.set()

    def drain() -> None:
        assert proc.stderr is not None
        for _ in proc.stderr:
            pass

    threads = [
        threading.Thread(target=read, daemon=True),
        threading.Thread(target=drain, daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        # A safety net only: the server prints "ready" once its three listeners serve.
        assert ready.wait(START_SECONDS), "the MCP server did not start"
        assert len(ports) == 3, f"the MCP server did not start: {ports}"
        yield McpServers(http=ports["http"], sse=ports["sse"], secure=ports["secure"])
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        for t in threads:
            t.join(5)
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()


def free_port() -> int:
    """A loopback port nothing listens on (bound and released: a refused connection)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
