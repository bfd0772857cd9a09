"""Connections that never get to a request: a client that opens a socket and sends a
request line and headers slowly, or nothing (slowloris), would hold a connection for good
(aiohttp has no deadline for the first request's headers). The guard closes every
connection whose request has not reached the app within the deadline, and the newest such
connections beyond a cap at once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

HEADER_TIMEOUT_SECONDS = 10.0
# Connections still waiting for their first request, at most; more are closed at once.
MAX_PENDING_CONNECTIONS = 256
_SWEEP_SECONDS = 0.5

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ConnectionGuard:
    def __init__(
        self,
        timeout: float = HEADER_TIMEOUT_SECONDS,
        max_pending: int = MAX_PENDING_CONNECTIONS,
    ) -> None:
        self.timeout = timeout
        self.max_pending = max_pending
        # By id, holding the protocol (so that its id is not reused while it is here).
        self._started: dict[int, Any] = {}
        self._seen: dict[int, float] = {}

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self._started[id(request.protocol)] = request.protocol
        return await handler(request)

    async def run(self, server: Any) -> None:
        """Sweep ``server``'s connections until cancelled."""
        while True:
            await asyncio.sleep(_SWEEP_SECONDS)
            self.sweep(server.connections, time.monotonic())

    def sweep(self, connections: list[Any], now: float) -> None:
        current = {id(c): c for c in connections}
        self._started = {k: v for k, v in self._started.items() if k in current}
        self._seen = {k: v for k, v in self._seen.items() if k in current}
        waiting = [c for k, c in current.items() if k not in self._started]
        for connection in waiting:
            self._seen.setdefault(id(connection), now)
        # Oldest first: past the deadline, or the newest beyond the cap.
        waiting.sort(key=lambda c: self._seen[id(c)])
        for index, connection in enumerate(waiting):
            late = now - self._seen[id(connection)] >= self.timeout
            if late or index >= self.max_pending:
                why = "no request in time" if late else "too many connections without one"
                log.info("closing a connection: %s", why)
                connection.force_close()
