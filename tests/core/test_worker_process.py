"""The parent's handles on ``--workers`` processes: forked and fresh ones, their pipes, their
exit codes. Real processes; nothing is simulated."""

from __future__ import annotations

import asyncio
import os
import signal

from rtcore import worker_process
from rtcore.worker_process import WorkerProcess


def _read_to_end(fd: int) -> bytes:
    data = b""
    while part := os.read(fd, 4096):
        data += part
    return data


def _echo_length(fd: int) -> int:
    """A worker that exits with the thousands of bytes it read before its pipe closed."""
    return len(_read_to_end(fd)) // 1000


async def _handed(proc: WorkerProcess, data: bytes) -> int:
    proc.watch()
    await proc.hand_over(data)
    proc.close_pipe()
    return await asyncio.wait_for(proc.wait(), 10)


def test_a_forked_worker_reads_its_pipe_and_its_exit_code_is_reaped() -> None:
    proc = worker_process.fork(_echo_length, [])
    assert proc.pid != os.getpid()
    assert asyncio.run(_handed(proc, b"x" * 100_000)) == 100  # more than a pipe holds
    assert proc.returncode == 100
    assert proc.pipe is None


def test_a_forked_worker_does_not_hold_its_siblings_pipes() -> None:
    """Otherwise closing the first worker's pipe (the parent gone) would never reach it."""
    first = worker_process.fork(_echo_length, [])
    assert first.pipe is not None
    second = worker_process.fork(_echo_length, [first.pipe])

    async def scenario() -> tuple[int, int | None]:
        first.watch()
        second.watch()
        first.close_pipe()
        code = await asyncio.wait_for(first.wait(), 10)
        still_running = second.returncode
        second.close_pipe()
        await asyncio.wait_for(second.wait(), 10)
        return code, still_running

    assert asyncio.run(scenario()) == (0, None)


def test_a_fresh_worker_gets_the_pipe_as_stdin() -> None:
    script = "import os, sys\ndata = b''\nwhile part := os.read(0, 4096): data += part\n"
    script += "sys.exit(len(data))"
    proc = worker_process.spawn(["-c", script])
    assert asyncio.run(_handed(proc, b"spec")) == 4


def test_a_fresh_worker_runs_in_a_session_of_its_own() -> None:
    """So that a terminal's Ctrl-C reaches only the parent, which forwards it once."""
    script = "import os, sys\nsys.exit(0 if os.getsid(0) == os.getpid() else 3)"
    proc = worker_process.spawn(["-c", script])
    assert asyncio.run(_handed(proc, b"")) == 0


def test_signals_end_a_worker_and_its_code_says_which() -> None:
    proc = worker_process.spawn(["-c", "import time; time.sleep(60)"])

    async def scenario() -> int:
        proc.watch()
        proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(proc.wait(), 10)

    assert asyncio.run(scenario()) == -signal.SIGTERM
    proc.send_signal(signal.SIGTERM)  # a reaped worker is not signalled again (no error)


def test_a_worker_that_raises_exits_1_with_its_traceback(capfd: object) -> None:
    def fails(fd: int) -> int:
        raise ValueError("worker broke")

    proc = worker_process.fork(fails, [])
    assert asyncio.run(_handed(proc, b"")) == 1
    err = capfd.readouterr().err  # type: ignore[attr-defined]
    assert "ValueError: worker broke" in err


def test_waiting_needs_watching_first() -> None:
    proc = worker_process.spawn(["-c", "pass"])

    async def scenario() -> str:
        try:
            await proc.wait()
        except RuntimeError as exc:
            message = str(exc)
        proc.watch()
        await proc.wait()
        return message

    assert "watch()" in asyncio.run(scenario())


def test_forking_is_allowed_only_while_single_threaded() -> None:
    import threading

    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert not worker_process.can_fork()
    finally:
        release.set()
        thread.join()
