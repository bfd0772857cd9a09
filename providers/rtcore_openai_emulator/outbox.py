"""One writer per connection: events go out whole and in order; a stalled connection is mute."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Protocol

from .ids import event_id


class TextSocket(Protocol):
    """What the outbox writes to (aiohttp's ``WebSocketResponse``)."""

    async def send_str(self, data: str, compress: int | None = None) -> None: ...


class Outbox:
    def __init__(self, socket: TextSocket) -> None:
        self._socket = socket
        self._lock = asyncio.Lock()
        self.silent = False

    async def send(self, kind: str, **fields: Any) -> None:
        """An event of type ``kind``, with its own ``event_id`` (every server event has one)."""
        await self.send_raw({"type": kind, "event_id": event_id(), **fields})

    async def send_raw(self, event: dict[str, Any]) -> None:
        if self.silent:
            return
        data = json.dumps(event, separators=(",", ":"))
        async with self._lock:
            await self._socket.send_str(data)
