"""Starting ``rtcore serve`` as a real subprocess, the way users do, and reading its logs."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

RTCORE = str(Path(sys.executable).parent / "rtcore")
START_SECONDS = 60
LISTENING = re.compile(r"listening on wss?://(\S+):(\d+)/v1/realtime")


def rtcore(
    *args: str, env: dict[str, str] | None = None, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run a short ``rtcore`` command to completion."""
    return subprocess.run(
        [RTCORE, *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


class Served:
    """``rtcore serve ... --port 0``; ``port`` is read from the listening log line."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [RTCORE, "serve", "--port", "0", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.port = 0
        self.host = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        # A safety net only: on a loaded machine a start (imports, the key store's
        # migration) takes well over the usual second or two.
        if not self._ready.wait(START_SECONDS) or not self.port:
            self.stop()
            raise AssertionError("rtcore serve did not start:\n" + self.stderr)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            match = LISTENING.search(line)
            if match and not self.port:
                self.host, self.port = match.group(1), int(match.group(2))
                self._ready.set()
        self._ready.set()

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    async def logged(self, text: str, within: float = 30.0) -> str:
        """The log once ``text`` is in it. The server writes a line before it answers, but
        the thread reading its stderr can lag well behind the answers on a loaded machine:
        a test waits for a line rather than expecting it read already. ``within`` is a
        safety net only."""
        try:
            async with asyncio.timeout(within):
                while text not in self.stderr:  # noqa: ASYNC110 - a log read by a thread
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(f"{text!r} not logged within {within} s:\n{self.stderr}") from None
        return self.stderr

    def url(self, model: str = "echo") -> str:
        # Clients always dial loopback; ``host`` is where the server bound.
        return f"ws://127.0.0.1:{self.port}/v1/realtime?model={model}"

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Signal the server and return its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(5)
        self._reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return code

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # In a test whose event loop also runs what the server talks to (the emulator), the
    # stop must not block that loop: the server's graceful close needs its peer to answer.
    async def __aenter__(self) -> Served:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)
