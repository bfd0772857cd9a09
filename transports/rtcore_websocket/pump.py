"""Frames between a client's socket and its session: a reader (socket → connection) and a
writer (connection → socket) in one task group, the close a session's end calls for, and a
client that reads nothing dropped rather than left holding its session's memory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct

from aiohttp import WSCloseCode, WSMsgType, web

from rtcore.connection import SHUTTING_DOWN, Connection
from rtcore.provider import messages as n

log = logging.getLogger(__name__)

CLOSE_CODES = {
    "rate_limit_exceeded": WSCloseCode.TRY_AGAIN_LATER,
    SHUTTING_DOWN: WSCloseCode.GOING_AWAY,
}


class SlowClient(Exception):
    """The client has not read what was sent for the send timeout."""


SLOW_REASON = b"client too slow: it read nothing for too long"
CLIENT_TOO_SLOW = "client_too_slow"
# How long a client that stopped reading is given to take its close frame.
DROP_GRACE_SECONDS = 2.0


async def close_or_drop(
    ws: web.WebSocketResponse, request: web.Request, code: int, reason: bytes
) -> None:
    """Offer the close frame for a moment, then drop the socket whatever came of it.

    The transport is taken first: once aiohttp gives up on a close it closes the
    transport gracefully (which waits for the unsent data to be read: for ever) and the
    request no longer holds it. ``asyncio.wait`` rather than a timeout scope, because the
    handler may arrive here with a cancellation pending from the task group that found the
    client slow, which a timeout scope would take for its own."""
    transport = request.transport
    closing = asyncio.create_task(ws.close(code=code, message=reason))
    closing.add_done_callback(_retrieve)
    try:
        await asyncio.wait({closing}, timeout=DROP_GRACE_SECONDS)
    finally:
        if transport is not None:
            _reset(transport)
        closing.cancel()


def _reset(transport: asyncio.Transport) -> None:
    """Drop a connection with a reset: its unsent data (megabytes, in the kernel's buffer
    too) is discarded at once rather than offered to a peer that reads nothing."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _retrieve(task: asyncio.Task[bool]) -> None:
    if not task.cancelled():
        task.exception()


async def close(ws: web.WebSocketResponse, failure: n.ProviderError | None) -> None:
    """The close a session's end calls for: 1000 when the client ended it, else the code
    and reason of what ended it (a second call is a no-op)."""
    if failure is None:
        await ws.close()
        return
    # A close reason is at most 123 bytes of UTF-8, cut at a character boundary.
    why = f"{failure.code}: {failure.message}".encode()[:120]
    why = why.decode(errors="ignore").encode()
    # The upstream ended the session: 1011, not a clean 1000. Throttled: 1013 "try again
    # later" tells a client that waiting helps; a draining server is "going away".
    await ws.close(code=CLOSE_CODES.get(failure.code, WSCloseCode.INTERNAL_ERROR), message=why)


async def pump(ws: web.WebSocketResponse, connection: Connection, send_timeout: float) -> None:
    closing = asyncio.Event()
    async with asyncio.TaskGroup() as group:
        reader = group.create_task(_read(ws, connection))
        writer = group.create_task(_write(ws, connection, send_timeout, closing))

        def client_gone(_: object) -> None:
            # The client ended it (its close, a reset): nothing more to send. Unless the
            # server is closing: then the reader ended on that close, whose handshake the
            # writer is finishing.
            if not closing.is_set():
                writer.cancel()

        reader.add_done_callback(client_gone)


async def _read(ws: web.WebSocketResponse, connection: Connection) -> None:
    async for message in ws:
        if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
            await connection.receive(message.data)
        elif message.type is WSMsgType.ERROR:
            log.info("client socket error: %s", ws.exception())
            return


async def _write(
    ws: web.WebSocketResponse,
    connection: Connection,
    send_timeout: float,
    closing: asyncio.Event,
) -> None:
    try:
        async for data in connection.outgoing():
            # The core hands out UTF-8 JSON; sending it as a frame skips a decode/encode.
            # A client that stops reading fills the socket's buffers and stalls the send:
            # past the timeout it is dropped, not left to hold its session's memory.
            try:
                async with asyncio.timeout(send_timeout):
                    await ws.send_frame(data, WSMsgType.TEXT)
            except TimeoutError:
                raise SlowClient from None
    except ConnectionResetError:
        return  # the client went away; the reader sees it too
    # The session is over on the server's side: close from here, with the reader still
    # reading, so that it takes the client's close reply (a reader cancelled mid-read
    # leaves the handshake to wait out aiohttp's close timeout).
    closing.set()
    await close(ws, connection.failure)
