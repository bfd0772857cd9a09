"""``rtcore serve --workers N``: N processes serving one port, and the parent that runs them.

One Python process runs one event loop on one core. With ``--workers N`` the parent checks
the configuration, enters the serve lifespans once (``--emulator`` starts its one emulator
here, shared by every worker), reserves the port, and starts N workers (``python -m
rtcore.workers``). Each worker listens on the same port with ``SO_REUSEPORT``, so the kernel
spreads new connections over them; each runs its own gateway and provider clients.

The parent supervises: SIGINT/SIGTERM are forwarded to every worker (they run in their own
session, so a terminal's Ctrl-C reaches only the parent), a worker that dies is restarted
(at most ``MAX_RESTARTS_PER_MINUTE``), a worker that fails while starting (a port taken, a
bad option) stops the whole server with its exit code. All of them write to the parent's
stderr, one log stream, each worker's lines tagged with its pid. A worker whose parent
disappears (its stdin pipe closes) stops on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import pickle
import signal
import socket
import sys
import threading
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace

from rtcore import loops
from rtcore.logs import WORKER_LOG_FORMAT, RedactingFormatter, configure_logging
from rtcore.plugins import PluginHost, load_plugins
from rtcore.provider import ModelConfig, Provider
from rtcore.serving import ServeError, ServeSettings

log = logging.getLogger(__name__)

MAX_WORKERS = 64
MAX_RESTARTS_PER_MINUTE = 5
# A worker that exits this soon after it started failed to start: restarting cannot help.
STARTING_SECONDS = 5.0
# Workers close their sessions within the transport's shutdown timeout (5 s); then SIGKILL.
STOP_SECONDS = 10.0


@dataclass
class WorkerSpec:
    """What the parent hands a worker on its stdin (pickled)."""

    settings: ServeSettings
    index: int
    log_level: str
    secrets: list[str]
    disabled_plugins: list[str]


def reserve_port(host: str, port: int) -> list[socket.socket]:
    """Bind (not listen) the serving address with ``SO_REUSEPORT`` and keep it: port 0
    becomes one concrete port for every worker, and a port another program holds fails
    here, once, with a clear message. Bound-only sockets receive no connections."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    held: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in infos:
            sock = socket.socket(family, kind, proto)
            held.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(held) > 1:
                address = (address[0], held[0].getsockname()[1], *address[2:])
            sock.bind(address)
            if port == 0:
                port = sock.getsockname()[1]
    except OSError as exc:
        for sock in held:
            sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return held


class _Providers:
    """Builds each model's provider the way the gateway does, to check its options."""

    requires_key = False

    def __init__(self, host: PluginHost) -> None:
        self._specs = host.providers()
        self._built: list[Provider] = []

    def provider_for(self, model: ModelConfig) -> Provider:
        provider = self._specs[model.provider].factory(model)
        self._built.append(provider)
        return provider

    async def aclose(self) -> None:
        for provider in self._built:
            await provider.aclose()


class Supervisor:
    def __init__(self, settings: ServeSettings, log_level: str, disabled: list[str]) -> None:
        self.settings = settings
        self.log_level = log_level
        self.disabled = disabled
        self.spec: WorkerSpec | None = None
        self.procs: dict[int, asyncio.subprocess.Process] = {}
        self.started: dict[int, float] = {}
        self.restarts: list[float] = []
        self.stopping: signal.Signals | None = None
        self.signalled = False
        self.stop_requested = asyncio.Event()

    async def spawn(self, index: int) -> None:
        """Start worker ``index``; it imports what serving needs and then waits for its
        spec (sent by ``hand_over``), so starting overlaps the parent's own checks."""
        command = [sys.executable, "-m", "rtcore.workers", "--log-level", self.log_level]
        for name in self.disabled:
            command += ["--disable-plugin", name]
        proc = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, start_new_session=True
        )
        self.procs[index] = proc
        self.started[index] = time.monotonic()
        if self.spec is not None:
            await self.hand_over(index)

    async def hand_over(self, index: int) -> None:
        assert self.spec is not None
        stdin = self.procs[index].stdin
        assert stdin is not None
        data = pickle.dumps(replace(self.spec, index=index))
        # The pipe stays open: its end tells the worker that the parent is gone.
        stdin.write(b"%d\n" % len(data) + data)
        with contextlib.suppress(ConnectionError):  # a worker that died is seen by _supervise
            await stdin.drain()

    async def abandon(self) -> None:
        """The start failed before the workers got their spec: they exit on the closed pipe."""
        for proc in self.procs.values():
            if proc.stdin is not None:
                proc.stdin.close()
        await asyncio.gather(*(p.wait() for p in self.procs.values()))

    def request_stop(self, signum: signal.Signals) -> None:
        """Forwarded once: a second signal to a worker that has already stopped serving
        would interrupt its exit."""
        if self.stopping is None:
            self.stopping = signum
            log.info("stopping the workers (%s)", signum.name)
            self.signal_all(signum)
        self.stop_requested.set()

    def signal_all(self, signum: signal.Signals) -> None:
        self.signalled = True
        for proc in self.procs.values():
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signum)

    def exited(self, indexes: list[int]) -> int | None:
        """A worker ended on its own: the exit code to stop with, or None once restarted."""
        now = time.monotonic()
        for index in indexes:
            code = self.procs[index].returncode
            if now - self.started[index] < STARTING_SECONDS or code == 2:
                log.error("worker %d failed to start (exit code %s)", index, code)
                return code if code else 1
            self.restarts = [t for t in self.restarts if now - t < 60] + [now]
            if len(self.restarts) > MAX_RESTARTS_PER_MINUTE:
                log.error("workers keep dying (last exit code %s): stopping", code)
                return 1
            log.warning("worker %d exited with code %s; starting it again", index, code)
        return None

    async def restart(self, indexes: list[int]) -> None:
        for index in indexes:
            await self.spawn(index)

    async def stop_all(self) -> int:
        if not self.signalled:
            self.signal_all(signal.SIGTERM)
        live = [p for p in self.procs.values() if p.returncode is None]
        try:
            async with asyncio.timeout(STOP_SECONDS):
                await asyncio.gather(*(p.wait() for p in live))
        except TimeoutError:
            for proc in live:
                if proc.returncode is None:
                    log.warning("worker %d did not stop in time: killing it", proc.pid)
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
            await asyncio.gather(*(p.wait() for p in live))
        codes = [p.returncode for p in self.procs.values()]
        return 0 if all(c in (0, -signal.SIGTERM, -signal.SIGINT) for c in codes) else 1


async def supervise(
    settings: ServeSettings, host: PluginHost, formatter: RedactingFormatter
) -> int:
    """The parent of ``--workers N``: returns the exit code."""
    from rtcore.serve import _build_providers

    if settings.args.transport != "websocket":
        raise ServeError("--workers needs the websocket transport")
    held = reserve_port(settings.host, settings.port)
    settings.port = held[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    disabled = list(getattr(settings.args, "disable_plugin", None) or [])
    level = logging.getLevelName(logging.getLogger().level)
    supervisor = Supervisor(settings, level, disabled)
    try:
        for index in range(settings.workers):
            await supervisor.spawn(index)
        async with AsyncExitStack() as stack:
            try:
                for lifespan in host.serve_lifespans(settings):
                    await stack.enter_async_context(lifespan)
                # Bad provider options stop the start here, once, before any worker serves
                # (the providers are only built, as ``rtcore serve`` does; the parent does
                # not import the session core, which keeps its start short).
                built = _Providers(host)
                try:
                    _build_providers(built, settings)  # type: ignore[arg-type]
                finally:
                    await built.aclose()
                if settings.master_key is None and not (
                    settings.is_loopback or settings.allow_unauthenticated_public
                ):
                    from rtcore_websocket.server import check_binding

                    check_binding(built, settings)  # type: ignore[arg-type]
            except BaseException:
                await supervisor.abandon()
                raise
            supervisor.spec = WorkerSpec(
                settings=settings,
                index=0,
                log_level=level,
                secrets=formatter.secrets(),
                disabled_plugins=disabled,
            )
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, supervisor.request_stop, signum)
            try:
                log.info("starting %d workers on port %d", settings.workers, settings.port)
                for index in range(settings.workers):
                    await supervisor.hand_over(index)
                code = await _supervise(supervisor)
            finally:
                for signum in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(signum)
            if supervisor.stopping is not None:
                log.info("stopped by %s", supervisor.stopping.name)
            return code
    finally:
        for sock in held:
            sock.close()


async def _supervise(supervisor: Supervisor) -> int:
    """Run the workers, restarting those that die, until stopped."""
    stop = asyncio.create_task(supervisor.stop_requested.wait())
    try:
        while True:
            waits = {
                asyncio.create_task(proc.wait()): index for index, proc in supervisor.procs.items()
            }
            done, _ = await asyncio.wait({stop, *waits}, return_when=asyncio.FIRST_COMPLETED)
            for task in waits:
                task.cancel()
            if stop in done or supervisor.stopping is not None:
                return await supervisor.stop_all()
            ended = [waits[t] for t in done if t in waits]
            code = supervisor.exited(ended)
            if code is not None:
                await supervisor.stop_all()
                return code
            await supervisor.restart(ended)
    finally:
        stop.cancel()


def run(args: argparse.Namespace, host: PluginHost, formatter: RedactingFormatter) -> int:
    """``rtcore serve --workers N`` (N != 1); returns the exit code."""
    from rtcore.config import ConfigError
    from rtcore.serve import build_settings

    try:
        if not 1 <= args.workers <= MAX_WORKERS:
            raise ServeError(f"--workers must be between 1 and {MAX_WORKERS}")
        settings = build_settings(args, host, formatter)
        settings.workers = args.workers
        return loops.run(supervise(settings, host, formatter), args.loop)
    except (ConfigError, ServeError) as exc:
        log.debug("serve refused to start", exc_info=True)
        print(f"rtcore serve: error: {exc}", file=sys.stderr)
        return 2


# -- the worker ---------------------------------------------------------------------------------


def _watch_parent(fd: int) -> None:
    """Block until the parent's pipe closes (the parent is gone), then stop gracefully.
    Reads the raw descriptor: a daemon thread must hold no lock of ``sys.stdin`` at exit."""
    with contextlib.suppress(OSError):
        while os.read(fd, 4096):
            pass
    os.kill(os.getpid(), signal.SIGTERM)


def main() -> int:
    """``python -m rtcore.workers``: one worker. It loads the plugins and what serving
    imports first, then reads its spec from stdin (sent once the parent's checks pass)."""
    parser = argparse.ArgumentParser(prog="python -m rtcore.workers")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--disable-plugin", action="append", default=[])
    args = parser.parse_args()
    formatter = configure_logging(args.log_level, fmt=WORKER_LOG_FORMAT)
    host = load_plugins(disabled=args.disable_plugin)
    import rtcore.gateway  # noqa: F401  (the session core: numpy, codecs)
    from rtcore.config import ConfigError
    from rtcore.serve import serve

    with contextlib.suppress(ImportError):
        import rtcore_websocket.server  # noqa: F401  (aiohttp)

    fd = sys.stdin.fileno()
    head = b""
    while not head.endswith(b"\n"):
        part = os.read(fd, 1)
        if not part:
            return 2  # the parent's checks failed (it said why), or there is no parent
        head += part
    size = int(head)
    data = b""
    while len(data) < size:
        part = os.read(fd, size - len(data))
        if not part:
            return 2
        data += part
    spec: WorkerSpec = pickle.loads(data)
    formatter.add_secrets(spec.secrets)
    threading.Thread(target=_watch_parent, args=(fd,), name="parent-watch", daemon=True).start()
    settings = spec.settings
    settings.worker_index = spec.index
    settings.reuse_port = True
    try:
        loops.run(serve(settings, host), settings.args.loop)
    except (ConfigError, ServeError) as exc:
        log.debug("worker refused to start", exc_info=True)
        print(f"rtcore serve: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
