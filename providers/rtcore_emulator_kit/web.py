"""An aiohttp application on a loopback port, for the emulators whose vendors speak WebSocket
(Gemini Live, OpenAI Realtime), and the connections it holds open."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
