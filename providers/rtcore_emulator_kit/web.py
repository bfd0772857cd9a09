"""An aiohttp application on a loopback port, for the emulators whose vendors speak WebSocket
(Gemini Live, OpenAI Realtime), the connections it holds open, a connection's jobs run until
one ends, and dropping a connection as a network failure would."""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def until_one_ends(jobs: Sequence[asyncio.Future[Any]]) -> None:
    """Wait for the first of a connection's jobs to end, then stop the others. Its failure,
    or the exception it settled on as its result, is the connection's, unless the client went
    away mid-send (a ``ConnectionError``)."""
    try:
        done, _ = await asyncio.wait(jobs, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
    for job in done:
        if job.cancelled():
            continue
        if (failure := job.exception()) is not None:
            if isinstance(failure, ConnectionError):
                return
            raise failure
        if isinstance(result := job.result(), BaseException):
            raise result


class Reset(Exception):
    """The connection was dropped (TCP RST) on purpose."""


def reset(request: web.Request) -> NoReturn:
    """Drop ``request``'s TCP connection with an RST (no close frame, no FIN) and raise
    ``Reset``."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger 0 turns close() into a TCP RST instead of an orderly FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    raise Reset


class LoopbackSite:
    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        # Open connections by id: requests are not hashable.
        self._open: dict[int, web.Request] = {}

    def holding(self, handler: Handler) -> Handler:
        """``handler``, its requests kept while they run, so ``drop_connections`` can cut
        them."""

        async def held(request: web.Request) -> web.StreamResponse:
            self._open[id(request)] = request
            try:
                return await handler(request)
            finally:
                self._open.pop(id(request), None)

        return held

    def drop_connections(self) -> int:
        """Abort the TCP connection of every held request (no close frame), as a network
        failure would; how many were cut."""
        cut = 0
        for request in list(self._open.values()):
            if request.transport is not None:
                request.transport.abort()
                cut += 1
        return cut

    async def start(self, app: web.Application, ssl_context: ssl.SSLContext | None) -> int:
        """Serve ``app``; the port it listens on."""
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, ssl_context=ssl_context)
        await site.start()
        self._runner = runner
        return int(runner.addresses[0][1])

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
