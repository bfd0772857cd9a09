"""Reading a connection's upstream, the part of a ``Connection`` that does it: each event
the provider sends is metered and handed to the session, whose events go to the client;
a failed response is held a moment in case the upstream's next word is that its session
is over, so that the session fails over (``SessionMoves``) and asks it again instead.
A reply that spends the last of its key's budget or token rate ends the session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from rtcore.failover import fails_over
from rtcore.moves import SessionMoves
from rtcore.protocol.errors import RealtimeError
from rtcore.provider import ProviderSession
from rtcore.provider import messages as n

log = logging.getLogger(__name__)

# A failed response is held this long for what follows it: when the provider's next word is
# that its session is over (it ends its open responses first), the session fails over and a
# response with nothing out yet is asked again instead of failing.
LOOKAHEAD_SECONDS = 1.0


class UpstreamReader(SessionMoves):
    """Mixed into ``Connection``: the attributes below are the connection's."""

    failure: n.ProviderError | None
    settle: Callable[[], Awaitable[None]] | None

    if TYPE_CHECKING:

        async def _send(self, upstream: ProviderSession, commands: Sequence[n.Command]) -> None: ...

        async def _close_outgoing(self) -> None: ...

    async def _read_provider(self) -> None:
        try:
            while self._upstream is not None:
                turn = await self._pump(self._upstream)
                if turn is None:
                    break
                if isinstance(turn, n.ProviderError):
                    if not await self._fail_over(turn):
                        break
                else:
                    await self._switch("failback", None)
        except Exception:
            # A provider bug must not vanish silently: the client hears of it, the log has it.
            log.exception("provider session for model %r failed", self.model.name)
            self.session.error(
                RealtimeError(
                    "provider_error",
                    "The model's session failed unexpectedly; see the gateway log.",
                    type="server_error",
                )
            )
            await self._flush()
        await self._close_outgoing()

    async def _pump(self, upstream: ProviderSession) -> n.ProviderError | str | None:
        """Read ``upstream`` until the session ends (None), its upstream fails in a way
        another deployment may not (that failure, its failed responses held in
        ``self._held``), or the session is due back on its preferred deployment
        ("failback")."""
        events = aiter(upstream.events())
        held: list[n.ResponseDone] = []
        following: asyncio.Future[n.Event | None] | None = None
        try:
            while True:
                if held:
                    following = asyncio.ensure_future(anext(events, None))
                    done, _ = await asyncio.wait({following}, timeout=LOOKAHEAD_SECONDS)
                    if not done and await self._take_all(upstream, held):
                        return None
                    event, following = await following, None
                else:
                    event = await anext(events, None)
                if event is None:
                    await self._take_all(upstream, held)
                    return None
                if self._can_move():
                    if isinstance(event, n.ResponseDone) and event.status == "failed":
                        held.append(event)
                        continue
                    if isinstance(event, n.ProviderError) and fails_over(event):
                        self._held = held
                        return event
                if await self._take_all(upstream, held) or await self._take(upstream, event):
                    return None
                if isinstance(event, n.ResponseDone) and self._failback_due():
                    return "failback"
        finally:
            if following is not None:
                following.cancel()

    async def _take_all(self, upstream: ProviderSession, events: list[n.ResponseDone]) -> bool:
        taken, events[:] = list(events), []
        for event in taken:
            if await self._take(upstream, event):
                return True
        return False

    async def _take(self, upstream: ProviderSession | None, event: n.Event) -> bool:
        """One provider event for the client; True when it ends the session. (``upstream``
        None: the upstream is gone, and is told nothing more.)"""
        said = None
        if self.meter.keep_text and isinstance(event, n.ResponseDone):
            response = self.session.responses.get(event.response_id)
            said = response.said() if response is not None else None
        commands = self.session.on_event(event)
        if isinstance(event, n.ToolCall | n.ResponseDone | n.SpeechStarted):
            # (A barge-in stops the calls of a reply held open for them.)
            self._mcp.start(self.session.mcp.take_jobs())
        if isinstance(event, n.AudioDelta):
            self.meter.audio_out(len(event.pcm))
            self.metrics.audio_out()
        elif isinstance(event, n.SpeechStopped):
            self.metrics.turn_ended()
            if self._unheard is not None:
                self._unheard.acknowledge()
        elif isinstance(event, n.ResponseStarted):
            self.meter.response_started(event.response_id)
            if self._unheard is not None:
                self._unheard.acknowledge()
        elif isinstance(event, n.ResponseDone):
            self.metrics.response_done(event.status)
            self.meter.response_done(
                event, model=self.model.model, deployment=self.model.deployment_id, said=said
            )
        elif isinstance(event, n.ProviderError):
            self.metrics.upstream_error(event.code)
        await self._flush()
        if commands and upstream is not None:
            await self._send(upstream, commands)
        if isinstance(event, n.ProviderError) and event.fatal:
            self.failure = event
            return True
        if isinstance(event, n.ResponseDone) and event.usage is not None:
            self.meter.add_usage(event.usage)
            if self.meter.over_budget() or self.meter.over_tokens_per_minute():
                # At a turn boundary: the reply that spent the last of it is whole.
                if self.meter.over_budget():
                    self._budget_spent()
                else:
                    self._rate_limited()
                await self._flush()
                if self.settle is not None:
                    await self.settle()
                return True
        return False

    def _budget_spent(self) -> None:
        spent = self.meter.spend
        message = (
            f"Budget has been exceeded! This key's budget ran out during the session "
            f"(this session spent {spent:.6f} USD of the {self.meter.budget_left:.6f} left)."
        )
        self.failure = n.ProviderError(code="budget_exceeded", message=message, fatal=True)
        self.session.error(RealtimeError("budget_exceeded", message, type="budget_exceeded"))

    def _rate_limited(self) -> None:
        message = (
            f"Rate limit exceeded: this key's sessions used {self.meter.minute_tokens} tokens "
            f"this minute of tpm_limit={self.meter.tokens_per_minute} (tokens per minute)."
        )
        self.failure = n.ProviderError(code="rate_limit_exceeded", message=message, fatal=True)
        self.session.error(RealtimeError("rate_limit_exceeded", message, type="rate_limit_error"))
