"""The processes of ``rtcore serve --workers N`` as their parent sees them: started, handed
their spec, signalled, reaped.

A worker starts one of two ways. At start-up the parent has imported what serving needs and
runs no event loop and no other thread yet: it forks, and the worker serves at once on the
parent's modules, shared copy-on-write. Starting fresh interpreters instead had N + 1
processes import the same modules at once: on two cores, 1.0-1.35 s to the first accepted
connection against 0.5 s for a single process. A worker started later, to replace one that
died, is a fresh interpreter (``python -m rtcore.workers``): by then the parent runs an event
loop and threads, which a forked child would inherit in an unusable state.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterable


def can_fork() -> bool:
    """Forking is sound only while this process runs one thread (and no event loop)."""
    return hasattr(os, "fork") and threading.active_count() == 1


class WorkerProcess:
    """One worker: its pid, the pipe its spec goes down (the pipe's end also tells the
    worker that its parent is gone), and its exit code once reaped (negative: the signal
    that ended it, as ``asyncio.subprocess`` reports it)."""

    def __init__(self, pid: int, pipe: int) -> None:
        self.pid = pid
        self._pipe: int | None = pipe
        self.returncode: int | None = None
        self._exited: asyncio.Future[int] | None = None

    def watch(self) -> None:
        """Start reaping it, from a thread blocked in ``waitpid`` (as asyncio's threaded
        child watcher does): it works under any event loop and installs no SIGCHLD handler."""
        loop = asyncio.get_running_loop()
        exited: asyncio.Future[int] = loop.create_future()
        self._exited = exited

        def reap() -> None:
            _, status = os.waitpid(self.pid, 0)
            code = os.waitstatus_to_exitcode(status)
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(self._set_exited, exited, code)

        threading.Thread(target=reap, name=f"reap-{self.pid}", daemon=True).start()

    def _set_exited(self, exited: asyncio.Future[int], code: int) -> None:
        self.returncode = code
        self.close_pipe()
        if not exited.done():
            exited.set_result(code)

    async def wait(self) -> int:
        """Its exit code, once it has exited (``watch()`` first); cancelling this does not
        stop the reaping."""
        if self._exited is None:
            raise RuntimeError("watch() the worker before waiting for it")
        return await asyncio.shield(self._exited)

    async def hand_over(self, data: bytes) -> None:
        """Write ``data`` down the pipe. In a thread: a fresh interpreter reads it only once
        its imports are done, and a spec larger than the pipe's buffer would block."""
        pipe = self._pipe
        if pipe is None:
            return
        with contextlib.suppress(OSError):  # a worker that died is reported by wait()
            await asyncio.to_thread(_write_all, pipe, data)

    def close_pipe(self) -> None:
        """Without its spec, a worker that reads the closed pipe exits (code 2)."""
        pipe, self._pipe = self._pipe, None
        if pipe is not None:
            with contextlib.suppress(OSError):
                os.close(pipe)

    @property
    def pipe(self) -> int | None:
        return self._pipe

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def fork(child: Callable[[int], int], pipes: Iterable[int]) -> WorkerProcess:
    """Fork a worker that runs ``child(read end of its pipe)`` and exits with what it
    returns. ``pipes``: the other workers' pipes, which the new one must not hold open
    (then a worker would not see its parent go). Call ``can_fork()`` first."""
    # Frozen objects are never touched by the cyclic collector, in parent or child: its
    # passes would otherwise write to every shared page, and so copy it.
    gc.freeze()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker; it never returns from here
        code = 1
        try:
            os.setsid()  # a terminal's Ctrl-C reaches the parent alone, which forwards it
            for fd in (write_end, *pipes):
                os.close(fd)
            code = child(read_end)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(code)
    os.close(read_end)
    return WorkerProcess(pid, write_end)


def spawn(argv: list[str]) -> WorkerProcess:
    """Start ``python argv...`` in a session of its own, its pipe as its stdin."""
    read_end, write_end = os.pipe()
    if read_end == 0:  # stdin was closed: dup2 onto itself would keep close-on-exec set
        moved = os.dup(read_end)
        os.close(read_end)
        read_end = moved
    try:
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, *argv],
            os.environ,
            file_actions=[(os.POSIX_SPAWN_DUP2, read_end, 0)],
            setsid=True,
        )
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)
    return WorkerProcess(pid, write_end)
