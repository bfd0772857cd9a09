"""Which HTTP/2 connection a session's Bedrock streams ride on.

Every session has a connection of its own (its lane), never shared with another session
while it lives. A reset or GOAWAY then ends the streams of one session only, and one
session's lost packet never holds up another's audio (TCP head-of-line blocking). The
handshake a connection per session would cost is hidden by a spare connection the pool
keeps open (``aws.PooledCRTClient``): a session takes it, and a new spare is opened
behind it; a finished session's connection becomes a spare for the next.

The SDK gives no way to pick a connection per call, so the lane travels in a context
variable that the call's task inherits (``riding``) and the transport reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol


class Lane:
    """One session's connection (None until its first stream, or after it died)."""

    __slots__ = ("connection",)

    def __init__(self) -> None:
        self.connection: Any = None


class LanePool(Protocol):
    def lane(self) -> Lane: ...

    def release(self, lane: Lane) -> None:
        """The session is over: its connection may serve the next one."""
        ...


_current: ContextVar[Lane | None] = ContextVar("rtcore_bedrock_lane", default=None)


@contextmanager
def riding(lane: Lane | None) -> Iterator[None]:
    """Tasks created inside take ``lane``'s connection for their requests."""
    token = _current.set(lane)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> Lane | None:
    return _current.get()
