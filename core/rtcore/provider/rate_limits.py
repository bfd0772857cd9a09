"""The upstream's rate limits as it reports them (part of the boundary:
``rtcore.provider.messages`` holds them too)."""

from __future__ import annotations

import msgspec


class RateLimit(msgspec.Struct, frozen=True, kw_only=True):
    """One of the upstream's limits as it reported it: ``name`` ("requests", "tokens"),
    the ``limit``, what is ``remaining`` and when it resets."""

    name: str
    limit: int
    remaining: int
    reset_seconds: float


class RateLimits(msgspec.Struct, frozen=True, kw_only=True, tag="rate_limits"):
    """The upstream reported its rate limits (OpenAI does after each response): the core
    passes them to the client as ``rate_limits.updated``."""

    limits: tuple[RateLimit, ...]
