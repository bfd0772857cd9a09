"""``rtcore serve --workers N``: N processes serving one port, and the parent that runs them.

One Python process runs one event loop on one core. With ``--workers N`` the parent checks
the configuration, reserves the port, imports what serving needs and forks N workers (see
``worker_process``); then it enters the serve lifespans once (``--emulator`` starts its one
emulator here, shared by every worker), checks the providers' options, and hands each worker
its spec. Each worker listens on the same port with ``SO_REUSEPORT``, so the kernel spreads
new connections over them; each runs its own gateway and provider clients.

The parent supervises: SIGINT/SIGTERM are forwarded to every worker (they run in their own
session, so a terminal's Ctrl-C reaches only the parent), a worker that dies is restarted
(at most ``MAX_RESTARTS_PER_MINUTE``), a worker that fails while starting (a port taken, a
bad option: exit code 2) stops the whole server with that code. All of them write to the parent's
stderr, one log stream, each worker's lines tagged with its pid. A worker whose parent
disappears (its pipe closes) stops on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import pickle
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace

from rtcore import loops, worker_process
from rtcore.logs import (
    LOG_FORMATS,
    WORKER_LOG_FORMAT,
    LogFormat,
    RedactingFormatter,
    configure_logging,
)
from rtcore.plugins import PluginHost, load_plugins
from rtcore.provider import ModelConfig, Provider
from rtcore.serve_settings import ServeError, ServeSettings
from rtcore.worker_process import WorkerProcess

log = logging.getLogger(__name__)

MAX_WORKERS = 64
MAX_RESTARTS_PER_MINUTE = 5
# Workers drain within --graceful-timeout and close their sessions within the transport's
# shutdown timeout (5 s); this much more, then SIGKILL.
STOP_MARGIN_SECONDS = 10.0
# The exit code of a worker that could not start (a port taken, a bad option): restarting
# cannot help, so the server stops with it.
CANNOT_START = 2


@dataclass
class WorkerSpec:
    """What the parent hands a worker on its stdin (pickled)."""

    settings: ServeSettings
    index: int
    secrets: list[str]


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


def shared_metrics_dir() -> str | None:
    """Where every worker writes its metrics, so that ``/metrics`` on any of them reports
    the whole server (prometheus-client's multiprocess mode). Set before the metrics are
    imported, here or in a worker; the operator's own ``PROMETHEUS_MULTIPROC_DIR`` is
    used as it is. Returns the directory made here (removed at exit)."""
    from rtcore.telemetry.metrics_env import MULTIPROC_ENV

    if os.environ.get(MULTIPROC_ENV):
        return None
    if "prometheus_client.values" in sys.modules:
        log.warning(
            "metrics were loaded before the workers started: /metrics reports only the "
            "worker that answers (set %s to share them)",
            MULTIPROC_ENV,
        )
        return None
    path = tempfile.mkdtemp(prefix="rtcore-metrics-")
    os.environ[MULTIPROC_ENV] = path
    return path


def preload(host: PluginHost, transport: str) -> None:
    """Import what serving needs before the first worker starts or the spec arrives."""
    importlib.import_module("rtcore.gateway")  # the session core: numpy, codecs
    importlib.import_module("rtcore.serve_command")
    spec = host.transports().get(transport)
    if spec is not None and spec.preload is not None:
        spec.preload()


class Supervisor:
    def __init__(
        self,
        settings: ServeSettings,
        log_level: str,
        disabled: list[str],
        log_format: LogFormat = "text",
    ) -> None:
        self.settings = settings
        self.log_level = log_level
        self.log_format: LogFormat = log_format
        self.disabled = disabled
        self.spec: WorkerSpec | None = None
        self.procs: dict[int, WorkerProcess] = {}
        self.restarts: list[float] = []
        self.stopping: signal.Signals | None = None
        self.signalled = False
        self.stop_requested = asyncio.Event()

    def fork_all(self, host: PluginHost, held: list[socket.socket]) -> None:
        """Start every worker at once from this (imported, single-threaded) process; each
        waits for its spec, so starting overlaps the parent's own checks."""

        def child(pipe: int) -> int:
            for sock in held:
                sock.close()
            formatter = configure_logging(
                self.log_level, fmt=WORKER_LOG_FORMAT, style=self.log_format
            )
            return serve_handed_over(pipe, host, formatter)

        for index in range(self.settings.workers):
            pipes = [p.pipe for p in self.procs.values() if p.pipe is not None]
            self.procs[index] = worker_process.fork(child, pipes)

    def spawn(self, index: int) -> None:
        """Start worker ``index`` as a fresh interpreter (``python -m rtcore.workers``)."""
        argv = ["-m", "rtcore.workers", "--log-level", self.log_level]
        argv += ["--log-format", self.log_format]
        argv += ["--transport", self.settings.args.transport]
        for name in self.disabled:
            argv += ["--disable-plugin", name]
        self.procs[index] = worker_process.spawn(argv)

    async def hand_over(self, index: int) -> None:
        assert self.spec is not None
        data = pickle.dumps(replace(self.spec, index=index))
        # The pipe stays open: its end tells the worker that the parent is gone.
        await self.procs[index].hand_over(b"%d\n" % len(data) + data)

    async def abandon(self) -> None:
        """The start failed before the workers got their spec: they exit on the closed pipe."""
        for proc in self.procs.values():
            proc.close_pipe()
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
            proc.send_signal(signum)

    def exited(self, indexes: list[int]) -> int | None:
        """A worker ended on its own: the exit code to stop with, or None once restarted."""
        now = time.monotonic()
        for index in indexes:
            code = self.procs[index].returncode
            # Only a worker that said it cannot start stops the server; one that died
            # (killed, crashed), however soon, is replaced like any other.
            if code == CANNOT_START:
                log.error("worker %d failed to start (exit code %s)", index, code)
                return code
            self.restarts = [t for t in self.restarts if now - t < 60] + [now]
            if len(self.restarts) > MAX_RESTARTS_PER_MINUTE:
                log.error("workers keep dying (last exit code %s): stopping", code)
                return 1
            log.warning("worker %d exited with code %s; starting it again", index, code)
            from rtcore.telemetry.metrics import process_gone

            process_gone(self.procs[index].pid)
        return None

    async def restart(self, indexes: list[int]) -> None:
        for index in indexes:
            self.spawn(index)
            self.procs[index].watch()
            await self.hand_over(index)

    async def stop_all(self) -> int:
        if not self.signalled:
            self.signal_all(signal.SIGTERM)
        live = [p for p in self.procs.values() if p.returncode is None]
        try:
            async with asyncio.timeout(
                self.settings.graceful_timeout_seconds + STOP_MARGIN_SECONDS
            ):
                await asyncio.gather(*(p.wait() for p in live))
        except TimeoutError:
            for proc in live:
                if proc.returncode is None:
                    log.warning("worker %d did not stop in time: killing it", proc.pid)
                    proc.kill()
            await asyncio.gather(*(p.wait() for p in live))
        codes = [p.returncode for p in self.procs.values()]
        return 0 if all(c in (0, -signal.SIGTERM, -signal.SIGINT) for c in codes) else 1


async def supervise(supervisor: Supervisor, host: PluginHost, formatter: RedactingFormatter) -> int:
    """The parent of ``--workers N``, its workers started: returns the exit code."""
    from rtcore.serve_command import _build_providers, enter_lifespans, hangup

    settings = supervisor.settings
    loop = asyncio.get_running_loop()
    for proc in supervisor.procs.values():
        proc.watch()
    async with AsyncExitStack() as stack:
        try:
            await enter_lifespans(stack, host, settings)
            # Bad provider options stop the start here, once, before any worker serves
            # (the providers are only built, as ``rtcore serve`` does).
            built = _Providers(host)
            try:
                _build_providers(built, settings)  # type: ignore[arg-type]
            finally:
                await built.aclose()
        except BaseException:
            await supervisor.abandon()
            raise
        supervisor.spec = WorkerSpec(
            settings=settings,
            index=0,
            secrets=formatter.secrets(),
        )
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, supervisor.request_stop, signum)
        loop.add_signal_handler(signal.SIGHUP, hangup)
        try:
            log.info("starting %d workers on port %d", settings.workers, settings.port)
            for index in range(settings.workers):
                await supervisor.hand_over(index)
            code = await _supervise(supervisor)
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(signum)
        if supervisor.stopping is not None:
            log.info("stopped by %s", supervisor.stopping.name)
        return code


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
    from rtcore.serve_command import build_settings

    try:
        if not 1 <= args.workers <= MAX_WORKERS:
            raise ServeError(f"--workers must be between 1 and {MAX_WORKERS}")
        settings = build_settings(args, host, formatter)
        settings.workers = args.workers
        transport = host.transports()[args.transport]
        if not transport.shares_port:
            raise ServeError(
                f"--workers needs a transport whose processes can share a port "
                f"(websocket); {args.transport!r} cannot"
            )
        if transport.check is not None:
            transport.check(settings)
        loops.loop_factory(args.loop)  # a bad --loop fails now, before any worker starts
        held = reserve_port(settings.host, settings.port)
        metrics_dir: str | None = None
        try:
            settings.port = held[0].getsockname()[1]
            level = logging.getLevelName(logging.getLogger().level)
            disabled = list(getattr(args, "disable_plugin", None) or [])
            supervisor = Supervisor(settings, level, disabled, formatter.style)
            metrics_dir = shared_metrics_dir()
            preload(host, args.transport)
            if worker_process.can_fork():
                supervisor.fork_all(host, held)
            else:
                for index in range(settings.workers):
                    supervisor.spawn(index)
            return loops.run(supervise(supervisor, host, formatter), args.loop)
        finally:
            for sock in held:
                sock.close()
            if metrics_dir is not None:
                shutil.rmtree(metrics_dir, ignore_errors=True)
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


def _read_spec(fd: int) -> WorkerSpec | None:
    """The spec the parent sends once its checks pass; None when the pipe closes first."""
    head = b""
    while not head.endswith(b"\n"):
        part = os.read(fd, 1)
        if not part:
            return None
        head += part
    size = int(head)
    data = b""
    while len(data) < size:
        part = os.read(fd, size - len(data))
        if not part:
            return None
        data += part
    spec: WorkerSpec = pickle.loads(data)
    return spec


def serve_handed_over(fd: int, host: PluginHost, formatter: RedactingFormatter) -> int:
    """One worker, forked or fresh: wait for the spec on ``fd``, then serve until stopped."""
    from rtcore.config import ConfigError
    from rtcore.serve_command import serve

    spec = _read_spec(fd)
    if spec is None:
        return CANNOT_START  # the parent's checks failed (it said why), or there is no parent
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
        return CANNOT_START
    return 0


def main() -> int:
    """``python -m rtcore.workers``: a worker started afresh, its spec on stdin."""
    parser = argparse.ArgumentParser(prog="python -m rtcore.workers")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--transport", default="websocket")
    parser.add_argument("--log-format", choices=LOG_FORMATS, default="text")
    parser.add_argument("--disable-plugin", action="append", default=[])
    args = parser.parse_args()
    formatter = configure_logging(args.log_level, fmt=WORKER_LOG_FORMAT, style=args.log_format)
    host = load_plugins(disabled=args.disable_plugin)
    preload(host, args.transport)
    return serve_handed_over(sys.stdin.fileno(), host, formatter)


if __name__ == "__main__":
    sys.exit(main())
