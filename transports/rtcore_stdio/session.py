"""One session over stdio: JSON lines in on stdin, JSON lines out on stdout.

Pipes and sockets are driven by the event loop. Terminals and regular files cannot be (and
making a terminal non-blocking would also affect stderr and the user's shell, which share
it), so those are read by a helper thread and written directly.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import stat
import sys
import threading
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Protocol

from rtcore.connection import Connection
from rtcore.dialect import Dialect
from rtcore.gateway import Gateway, UnknownModel
from rtcore.serve_settings import ServeError, ServeSettings
from rtcore_stdio.lines import LineSplitter

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024


def _is_pipe(fd: int) -> bool:
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _same_file(a: int, b: int) -> bool:
    sa, sb = os.fstat(a), os.fstat(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


async def _pipe_chunks(fd: int) -> AsyncGenerator[bytes]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    pipe = os.fdopen(os.dup(fd), "rb", buffering=0)  # the transport closes it
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    try:
        while chunk := await reader.read(CHUNK_BYTES):
            yield chunk
    finally:
        # The transport made the pipe non-blocking; the flag lives on the shared file
        # description, so restore it through the original descriptor (the dup may be closed).
        os.set_blocking(fd, True)
        transport.close()


async def _thread_chunks(fd: int) -> AsyncGenerator[bytes]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=4)

    def pump() -> None:
        while True:
            chunk = os.read(fd, CHUNK_BYTES)
            try:
                asyncio.run_coroutine_threadsafe(queue.put(chunk), loop).result()
            except (RuntimeError, concurrent.futures.CancelledError):
                return  # the loop is gone: the session ended before stdin did
            if not chunk:
                return

    # A daemon thread: a blocked read on a terminal must not keep the process alive.
    threading.Thread(target=pump, name="rtcore-stdin", daemon=True).start()
    while chunk := await queue.get():
        yield chunk


class _Output(Protocol):
    async def write_line(self, data: bytes) -> None: ...


class _PipeOutput:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def write_line(self, data: bytes) -> None:
        self._writer.writelines((data, b"\n"))
        await self._writer.drain()


class _DirectOutput:
    """Blocking writes, for terminals and files (they do not stall for long)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    async def write_line(self, data: bytes) -> None:
        view = memoryview(data + b"\n")
        while view:
            view = view[os.write(self._fd, view) :]


@asynccontextmanager
async def _open_output(fd: int) -> AsyncIterator[_Output]:
    if not _is_pipe(fd) or _same_file(fd, sys.stderr.fileno()):
        yield _DirectOutput(fd)
        return
    loop = asyncio.get_running_loop()
    pipe = os.fdopen(os.dup(fd), "wb", buffering=0)  # the transport closes it
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, pipe)
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    try:
        yield _PipeOutput(writer)
    finally:
        os.set_blocking(fd, True)
        transport.close()


async def _deliver(connection: Connection, line: bytes) -> None:
    line = line.rstrip(b"\r")
    if not line.strip():
        return  # blank lines separate nothing; they are not events
    await connection.receive(line.decode("utf-8", errors="replace"))


async def _read(connection: Connection, fd: int, limit: int) -> None:
    splitter = LineSplitter(limit)
    chunks = _pipe_chunks(fd) if _is_pipe(fd) else _thread_chunks(fd)
    async with aclosing(chunks):
        async for chunk in chunks:
            for line in splitter.feed(chunk):
                await _deliver(connection, line)
    for line in splitter.end():
        await _deliver(connection, line)
    log.info("stdin closed: finishing the session")
    await connection.finish()


async def _write(connection: Connection, output: _Output) -> None:
    try:
        async for data in connection.outgoing():
            await output.write_line(data)
    except (BrokenPipeError, ConnectionResetError):
        log.info("stdout closed: ending the session")


async def serve_stdio(gateway: Gateway, settings: ServeSettings) -> None:
    """Serve one session; return when it is over."""
    try:
        model = gateway.resolve_model(settings.model)
    except UnknownModel as exc:
        raise ServeError(
            f"stdio serves one model: choose it with --model NAME. "
            f"Configured models: {', '.join(exc.available)}"
        ) from None
    dialect = Dialect(settings.dialect) if settings.dialect else None
    stdin_fd, stdout_fd = sys.stdin.fileno(), sys.stdout.fileno()
    # Stray prints (from any library) must not corrupt the event stream on stdout.
    real_stdout, sys.stdout = sys.stdout, sys.stderr
    log.info("stdio session on model %s", model.name)
    try:
        async with (
            _open_output(stdout_fd) as output,
            gateway.connect(model, dialect=dialect) as connection,
            asyncio.TaskGroup() as group,
        ):
            reader = group.create_task(_read(connection, stdin_fd, settings.max_message_bytes))
            writer = group.create_task(_write(connection, output))
            # When the session ends on its own, stop reading; EOF on stdin, however,
            # must let the response in flight finish, so the writer is never cancelled.
            writer.add_done_callback(lambda _: reader.cancel())
    finally:
        sys.stdout = real_stdout
