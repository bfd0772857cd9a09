"""An out-of-band reply (``CreateResponse(conversation=False)``) for an upstream that
cannot generate a reply outside its live context: the provider runs it on a short-lived
connection of its own, seeded with the conversation, so that neither the request nor the
reply enters the live session's context.

``OutOfBandReply`` is what such a reply needs besides that connection: its task, one
``ResponseDone`` whatever happens (the upstream's, a cancelled one, a failed one with the
error), and only the events a client should see on the session's outbox. The provider
gives ``converse``: it opens the connection, sends the conversation and the request, and
passes each upstream message's events (from a translator of its own) to ``forward``,
until ``forward`` says the reply is finished. Cancelling the reply cancels ``converse``,
whose cleanup closes the connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from rtcore.kit.outbox import EventOutbox
from rtcore.provider import ProviderUnavailable
from rtcore.provider import messages as n

log = logging.getLogger(__name__)

# ``forward(events)``: what a client should see goes out, a ``ResponseDone`` finishes the
# reply; True once the reply is finished (``converse`` should then return).
Forward = Callable[[Iterable[n.Event]], Awaitable[bool]]

# The events of a reply a client sees; the rest (the reply's start, the short-lived
# connection's speech events and errors) stays inside the reply.
_CLIENT_EVENTS = (n.ToolCall, n.AudioDelta, n.TextDelta, n.TranscriptDelta)

# ``converse`` returned, and the reply had not finished.
ENDED_EARLY = n.ResponseError(
    code="server_error", message="The upstream connection ended before the reply did."
)


class OutOfBandReply:
    def __init__(
        self,
        create: n.CreateResponse,
        outbox: EventOutbox,
        converse: Callable[[Forward], Awaitable[None]],
        *,
        classify: Callable[[Exception], n.ResponseError],
        on_done: Callable[[str], object],
        name: str = "out-of-band-reply",
    ) -> None:
        """``classify`` turns a failure of ``converse`` into the reply's error (a
        ``ProviderUnavailable`` says its own); ``on_done(response_id)`` is called once, as
        the reply finishes."""
        self.create = create
        self._outbox = outbox
        self._converse = converse
        self._classify = classify
        self._on_done = on_done
        self._name = name
        self._task: asyncio.Task[None] | None = None
        self.done = False

    @property
    def response_id(self) -> str:
        return self.create.response_id

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The reply's task, once started: it ends after ``converse`` has closed its
        connection, which can be after the reply finished."""
        return self._task

    async def cancel(self, reason: str) -> None:
        """Stop ``converse`` (and with it the connection), then finish as cancelled, unless
        the reply finished first."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                if (current := asyncio.current_task()) is not None and current.cancelling():
                    raise  # the caller is being cancelled too, not only the reply
        await self._finish(
            n.ResponseDone(response_id=self.response_id, status="cancelled", reason=reason)
        )

    async def forward(self, events: Iterable[n.Event]) -> bool:
        for event in events:
            if self.done:
                break
            if isinstance(event, n.ResponseDone):
                await self._finish(event)
            elif isinstance(event, _CLIENT_EVENTS):
                await self._outbox.put(event)
        return self.done

    async def _finish(self, done: n.ResponseDone) -> None:
        if self.done:
            return
        self.done = True
        self._on_done(self.response_id)
        await self._outbox.put(done)

    async def _run(self) -> None:
        try:
            await self._converse(self.forward)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the upstream's failures, a refused connection
            if isinstance(exc, ProviderUnavailable):
                error = n.ResponseError(code=exc.code, message=exc.message)
            else:
                error = self._classify(exc)
        else:
            if self.done:
                return
            error = ENDED_EARLY
        log.warning(
            "out-of-band reply %s failed (%s): %s", self.response_id, error.code, error.message
        )
        done = n.ResponseDone(response_id=self.response_id, status="failed", error=error)
        await self._finish(done)


class OutOfBandReplies:
    """A session's out-of-band replies in flight, by response id: a ``CancelResponse``
    for one of them stops it, and the session's close stops them all and waits for their
    connections to close. Give each reply ``on_done=replies.discard``."""

    def __init__(self) -> None:
        self._running: dict[str, OutOfBandReply] = {}
        # Started and not yet ended: a finished reply may still be closing its connection.
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, reply: OutOfBandReply) -> None:
        self._running[reply.response_id] = reply
        reply.start()
        if (task := reply.task) is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def discard(self, response_id: str) -> None:
        self._running.pop(response_id, None)

    async def cancel(self, response_id: str) -> bool:
        """Cancel the reply of ``response_id``; False when none of them is running."""
        reply = self._running.get(response_id)
        if reply is None:
            return False
        await reply.cancel("client_cancelled")
        return True

    async def cancel_all(self) -> None:
        for reply in list(self._running.values()):
            await reply.cancel("cancelled")
        # Each ends within its own close timeout; their failures were reported already.
        await asyncio.gather(*self._tasks, return_exceptions=True)
