"""A throwaway PostgreSQL server (Debian's) for the tests that need one: the key store
across replicas (tests/keys) and the fleet (tests/fleet). One per test run."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _pg_bin(name: str) -> str | None:
    for root in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (root / name).exists():
            return str(root / name)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (initdb in a temp dir, trust auth, loopback only);
    its URL. As root it runs as the ``postgres`` user, which PostgreSQL requires."""
    initdb, server = _pg_bin("initdb"), _pg_bin("postgres")
    if initdb is None or server is None:
        pytest.skip("PostgreSQL is not installed (.ci/run installs Debian's postgresql)")
    # Not under pytest's temp root: that is private to the user running the tests, and
    # the server runs as another.
    root = Path(tempfile.mkdtemp(prefix="rtcore-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    user = None
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
        user = "postgres"
    subprocess.run(
        [initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True,
        capture_output=True,
        user=user,
        cwd=root,
    )
    port = _free_port()
    proc = subprocess.Popen(
        [
            server,
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(sockets),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        user=user,
        cwd=root,
    )
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            break
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise AssertionError("PostgreSQL did not start")
        time.sleep(0.1)
    time.sleep(0.5)  # accepting TCP a moment before it accepts logins
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        proc.send_signal(signal.SIGINT)  # fast shutdown
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)
