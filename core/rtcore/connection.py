"""One client connection: frames in, frames out, one provider session behind it.

(Interface first; the session state machine lives in ``rtcore.session``.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rtcore.dialect import Dialect
from rtcore.provider import ModelConfig, Provider


class Connection:
    """Transports use exactly four things:

    - ``async with connection.running():`` (done by ``Gateway.connect``),
    - ``await connection.receive(frame)`` for each client frame (``str`` for a text frame,
      ``bytes`` for a binary one, which gets an ``invalid_event`` error),
    - ``async for data in connection.outgoing():`` UTF-8 JSON server events, one per item,
      to be sent as text frames / JSON lines; ends when the session is over,
    - ``await connection.finish()`` when the client will send nothing more (stdio EOF):
      the response in flight completes, then ``outgoing()`` ends.
    """

    def __init__(
        self,
        *,
        model: ModelConfig,
        provider: Provider,
        dialect: Dialect | None,
        default_dialect: Dialect,
        max_message_bytes: int,
    ) -> None:
        self.model = model
        self.provider = provider
        self.dialect = dialect
        self.default_dialect = default_dialect
        self.max_message_bytes = max_message_bytes

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        raise NotImplementedError
        yield

    async def receive(self, frame: str | bytes) -> None:
        raise NotImplementedError

    def outgoing(self) -> AsyncIterator[bytes]:
        raise NotImplementedError

    async def finish(self) -> None:
        raise NotImplementedError
