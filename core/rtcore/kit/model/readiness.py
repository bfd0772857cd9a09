"""A provider's readiness from the check that makes its sessions possible.

A provider checks at start (``warm_up``) and before each session what its upstream needs:
a client built, credentials that hold a token, a region. ``/health/readiness`` asks the
provider why it cannot serve (``readiness``): "starting" until the first check ends, the
last failure after a failed one. Credentials often appear after the gateway started (a
token file mounted late, a profile written): a model found unusable is checked again in
the background every few seconds, so it turns ready on its own.

``ReadinessCheck`` runs such a check under a lock (sessions that start together check
once at a time), keeps its last failure and answers ``readiness`` from them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from rtcore.provider import ProviderUnavailable

log = logging.getLogger(__name__)

RECHECK_SECONDS = 5.0


class ReadinessCheck[T]:
    def __init__(
        self,
        check: Callable[[], Awaitable[T]],
        *,
        starting: str,
        recheck_seconds: float = RECHECK_SECONDS,
    ) -> None:
        """``check`` raises ``ProviderUnavailable`` saying why the provider cannot serve;
        ``starting`` is what readiness says before the first check has ended."""
        self._check = check
        self._starting = starting
        self._recheck_seconds = recheck_seconds
        self._lock = asyncio.Lock()
        self._passed = False
        self._failure: tuple[str, float] | None = None  # (reason, when)
        self._recheck: asyncio.Task[None] | None = None
        self._closed = False

    async def run(self) -> T:
        """Run the check (once at a time); what it returns, or its ``ProviderUnavailable``."""
        async with self._lock:
            try:
                value = await self._check()
            except ProviderUnavailable as exc:
                self._failure = (f"{exc.code}: {exc.message}", time.monotonic())
                raise
            self._failure = None
            self._passed = True
            return value

    def reason(self) -> str | None:
        """None when sessions can be served; else why not. A failed check is run again in
        the background once ``recheck_seconds`` have passed since it failed."""
        if self._failure is None:
            return None if self._passed else f"starting: {self._starting}"
        reason, since = self._failure
        if (
            not self._closed
            and time.monotonic() - since >= self._recheck_seconds
            and (self._recheck is None or self._recheck.done())
        ):
            self._recheck = asyncio.create_task(self._quietly(), name="readiness-recheck")
        return reason

    async def _quietly(self) -> None:
        # A failure's reason is kept for readiness; nobody awaits this run to hear it.
        try:
            await self.run()
        except Exception as exc:
            log.debug("readiness check failed again: %s", exc)

    def close(self) -> None:
        """Stop a recheck running in the background; none starts after this (a readiness
        probe while the gateway shuts down must not build a client again)."""
        self._closed = True
        if self._recheck is not None:
            self._recheck.cancel()
