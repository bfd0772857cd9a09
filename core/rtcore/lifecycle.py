"""Where a client connection is in its life, in one attribute (as websockets' sans-I/O
``State`` says where a WebSocket is), instead of a flag and an event read together."""

from __future__ import annotations

import asyncio
import enum


class Phase(enum.Enum):
    # Events flow both ways.
    OPEN = "open"
    # The session is being handed to another upstream: what the client sends waits, to be
    # handled for the new one.
    MOVING = "moving"
    # The outgoing stream has ended: nothing more is sent to the client or taken from the
    # upstream.
    CLOSED = "closed"


class Lifecycle:
    """A connection's phase and its transitions: OPEN -> MOVING -> OPEN while it moves
    between upstreams, to CLOSED from either, once."""

    def __init__(self) -> None:
        self.phase = Phase.OPEN
        self._settled = asyncio.Event()
        self._settled.set()

    @property
    def closed(self) -> bool:
        return self.phase is Phase.CLOSED

    async def settled(self) -> None:
        """Return once no move is under way (at once when none is)."""
        if not self._settled.is_set():
            await self._settled.wait()

    def begin_move(self) -> None:
        if self.phase is Phase.OPEN:
            self.phase = Phase.MOVING
        self._settled.clear()

    def end_move(self) -> None:
        # A connection closed during the move stays closed; what waited goes on either way.
        if self.phase is Phase.MOVING:
            self.phase = Phase.OPEN
        self._settled.set()

    def close(self) -> bool:
        """Enter CLOSED; True the first time (the caller then ends the outgoing stream)."""
        if self.phase is Phase.CLOSED:
            return False
        self.phase = Phase.CLOSED
        return True
