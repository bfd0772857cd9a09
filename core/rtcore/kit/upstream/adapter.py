"""What a supervised upstream is made of, apart from the supervisor that keeps it alive:
the ``UpstreamAdapter`` a provider writes for its model (and ``Expires``, for streams that
must be replaced by a known time), how a stream fails (``UpstreamFailure``), and the policy
the supervisor keeps it under (``SupervisorPolicy``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec

# The failure code of a throttled upstream (OpenAI's own code for it).
THROTTLED = "rate_limit_exceeded"


class UpstreamFailure(Exception):
    """An upstream stream failed: ``code`` for logs and clients, ``message`` says what to
    do, ``retryable`` whether a new stream can help."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


class SupervisorPolicy(msgspec.Struct, frozen=True, kw_only=True):
    rotate_after_seconds: float = 360.0
    connection_limit_seconds: float = 480.0
    stall_timeout_seconds: float = 15.0
    max_open_attempts: int = 4
    backoff_initial_seconds: float = 0.25
    backoff_max_seconds: float = 4.0
    # Throttled opens (``rate_limit_exceeded``) are retried longer: 1, 2, 4, 8, 8 s.
    throttle_attempts: int = 6
    throttle_backoff_initial_seconds: float = 1.0
    throttle_backoff_max_seconds: float = 8.0
    max_recoveries_per_minute: int = 5
    # A stream that stalls again right after a recovery from a stall (no answer owed in
    # between) ends the session: the upstream is not answering, and another deployment
    # may (a failover).
    max_stalls_in_a_row: int = 2
    close_timeout_seconds: float = 3.0
    max_backlog_bytes: int = 60 * 32000


class UpstreamAdapter[H](Protocol):
    """The model's side. ``H`` is a handle on one stream (and whatever writes for it).

    An adapter may also be ``Expires``: the supervisor then asks each new stream when it
    must be replaced by."""

    async def open(self) -> H:
        """Open a stream that knows the conversation so far; UpstreamFailure on failure."""
        ...

    async def send(self, handle: H, payload: list[bytes]) -> None: ...

    async def read(self, handle: H) -> None:
        """Read the stream until it ends (a normal return is an unexpected end); call
        ``supervisor.heard_from(handle)`` for each event of the current stream."""
        ...

    async def close(self, handle: H) -> None:
        """End the stream gracefully, bounded."""
        ...

    async def abort(self, handle: H) -> None: ...

    def at_boundary(self, hurry: bool) -> bool:
        """No turn in flight (``hurry``: the connection limit is near; be less strict)."""
        ...

    def waiting(self) -> bool:
        """The model owes an answer (a silent stream then counts as stalled)."""
        ...

    def replay(self, recovering: bool) -> list[bytes]:
        """Audio the next stream must hear again (PCM), decided before the old one goes."""
        ...

    def audio_payload(self, handle: H, pcm: list[bytes]) -> list[bytes]: ...

    async def lost(self, failure: UpstreamFailure, fatal: bool) -> None:
        """The live stream broke: end what it owed (its open responses); ``fatal``: the
        session ends with ``failure``."""
        ...

    async def tick(self, now: float) -> float | None:
        """Periodic work; returns when it wants the next tick (monotonic), or None."""
        ...


@runtime_checkable
class Expires[H](Protocol):
    """An adapter whose streams must be replaced by a time known when they open (a stream
    signed with credentials that expire)."""

    def expires(self, handle: H) -> float | None:
        """The monotonic time by which ``handle`` must be replaced, or None: the supervisor
        rotates at a turn boundary from then on, or mid-turn with replay."""
        ...
