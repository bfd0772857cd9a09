"""A throwaway PostgreSQL server (Debian's) for the tests that need one: the key store
across replicas (tests/keys) and the fleet (tests/fleet), one per test run; and one of a
test's own (``postgres_cluster``) that it may stop and start again (an outage)."""

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


class PostgresCluster:
    """An ``initdb`` cluster in a temp dir (trust auth, loopback only), started and
    stopped at will on one port. As root it runs as the ``postgres`` user, which
    PostgreSQL requires."""

    def __init__(self) -> None:
        initdb, self._server = _pg_bin("initdb"), _pg_bin("postgres")
        if initdb is None or self._server is None:
            pytest.skip("PostgreSQL is not installed (.ci/run installs Debian's postgresql)")
        # Not under pytest's temp root: that is private to the user running the tests,
        # and the server runs as another.
        self.root = Path(tempfile.mkdtemp(prefix="rtcore-pg-"))
        self._data, self._sockets = self.root / "data", self.root / "sock"
        self._sockets.mkdir()
        self._user = None
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(self._sockets, "postgres")
            self._user = "postgres"
        subprocess.run(
            [initdb, "-D", str(self._data), "-A", "trust", "-U", "postgres", "--no-sync"],
            check=True,
            capture_output=True,
            user=self._user,
            cwd=self.root,
        )
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self._server is not None
        self._proc = subprocess.Popen(
            [
                self._server,
                "-D",
                str(self._data),
                "-p",
                str(self.port),
                "-k",
                str(self._sockets),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=self._user,
            cwd=self.root,
        )
        deadline = time.monotonic() + 30
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 1),
            ):
                break
            if time.monotonic() > deadline or self._proc.poll() is not None:
                self._proc.kill()
                raise AssertionError("PostgreSQL did not start")
            time.sleep(0.1)
        time.sleep(0.5)  # accepting TCP a moment before it accepts logins

    def stop(self) -> None:
        """A fast shutdown (SIGINT): clients' connections are cut, as in an outage."""
        if self._proc is None:
            return
        self._proc.send_signal(signal.SIGINT)
        try:
            self._proc.wait(20)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        self._proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """The run's PostgreSQL; its URL."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster.url
    finally:
        cluster.remove()


@pytest.fixture
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL of the test's own, started; the test may stop and start it."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
