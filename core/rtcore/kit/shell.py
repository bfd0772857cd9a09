"""The shell of a provider session on one supervised upstream: what every such session
does the same way, so that a provider's session holds only its model's policy.

``SupervisedSession`` owns the session's ``EventOutbox`` and the task that runs its
``UpstreamSupervisor``; it answers the core's ``events``, ``send`` (dropping commands once
the session is over), ``connected`` (the first stream opened, or ``ProviderUnavailable``)
and ``aclose`` (the upstream closed gracefully and bounded, then the last events). It
emits events (``emit``: through the session's ``AnswerHold`` where it has one, waking the
supervisor at a reply's start and end) and reports a lost upstream (``report_lost``). A
subclass implements ``on_command`` and may override the three moments of a close.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine, Iterable
from typing import Any

from rtcore.kit.audio.input_audio import InputAudio
from rtcore.kit.outbox import EventOutbox
from rtcore.kit.turns.hold import AnswerHold
from rtcore.kit.upstream.adapter import UpstreamFailure
from rtcore.kit.upstream.supervisor import UpstreamSupervisor
from rtcore.provider import ProviderUnavailable
from rtcore.provider import messages as n

# Events a session's consumer may lag behind by before the provider waits for it.
QUEUE_EVENTS = 512


class SupervisedSession[H]:
    supervisor: UpstreamSupervisor[H]
    # A model that answers every turn on its own keeps its answers here until the client
    # asks (``AnswerHold``); None where the model answers only when asked.
    hold: AnswerHold | None = None
    # The user's audio as the session keeps it for replays (None: it keeps none).
    audio: InputAudio | None = None

    def __init__(self, *, close_timeout_seconds: float, queue_events: int = QUEUE_EVENTS) -> None:
        self.outbox = EventOutbox(queue_events)
        # The upstream's own close is bounded by ``close_timeout_seconds``; the readers get
        # a little longer to see it through before they are cancelled.
        self._runner_timeout = close_timeout_seconds + 2
        self._finished = False
        self._runner: asyncio.Task[None] | None = None

    def start(self, name: str, *background: Coroutine[Any, Any, None]) -> None:
        """Run the supervisor (and ``background`` beside it) until the session closes;
        called once ``self.supervisor`` is set."""
        self._runner = asyncio.create_task(self._run(*background), name=name)

    # -- ProviderSession --------------------------------------------------------------------

    def events(self) -> AsyncIterator[n.Event]:
        return self.outbox

    async def send(self, command: n.Command) -> None:
        if not self._finished:
            await self.on_command(command)

    async def on_command(self, command: n.Command) -> None:
        """One command of the core's, while the session lasts."""
        raise NotImplementedError

    async def connected(self) -> None:
        """Open the upstream now and wait for it (the gateway asks when another deployment
        could serve the session instead)."""
        try:
            await self.supervisor.opened()
        except UpstreamFailure as failure:
            raise ProviderUnavailable(failure.message, code=failure.code) from None

    async def aclose(self) -> None:
        await self.before_close()
        await self.supervisor.close()
        if self._runner is not None:
            try:
                # The readers end on their own once the upstream closes its side; one
                # cancelled while parked in an SDK's receive may leave the SDK a dead future.
                async with asyncio.timeout(self._runner_timeout):
                    await asyncio.shield(self._runner)
            except TimeoutError:
                self._runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._runner
        await self.after_close()
        self._end_events()

    # -- events --------------------------------------------------------------------------

    async def emit(self, events: Iterable[n.Event]) -> None:
        """Events for the client, in order. A reply's start (the stall watch starts) or end
        (a rotation may be due) wakes the supervisor, and its start tells the user's audio
        that what was said so far is answered; the user speaking again makes a held answer
        moot."""
        hold = self.hold
        for event in events:
            if isinstance(event, n.ResponseStarted | n.ResponseDone):
                self.supervisor.wake()
                if isinstance(event, n.ResponseStarted) and self.audio is not None:
                    self.audio.answered()  # the model answers what it heard
            if hold is None:
                await self.outbox.put(event)
                continue
            if isinstance(event, n.SpeechStarted):
                hold.drop()
            for visible in hold.feed(event):
                await self.outbox.put(visible)

    async def report_lost(
        self, events: list[n.Event], failure: UpstreamFailure, *, fatal: bool
    ) -> None:
        """The upstream was lost: ``events`` close what it left open. Unless ``fatal`` the
        supervisor recovers and they go out as any others; a fatal loss ends the session
        with the error, queued at once (the supervisor is ending: nothing may wait)."""
        if not fatal:
            await self.emit(events)
            return
        events.append(n.ProviderError(code=failure.code, message=failure.message, fatal=True))
        for event in events:
            self.outbox.put_nowait(event)

    # -- the moments of a close, for a subclass ---------------------------------------------

    async def before_close(self) -> None:
        """What must reach the upstream before it closes (held audio, say)."""

    async def after_close(self) -> None:
        """What the session holds beside the upstream, given back once it is closed."""

    def closing_events(self) -> Iterable[n.Event]:
        """The last events: what is still open ends (the session closes under it)."""
        return ()

    # -- the runner -------------------------------------------------------------------------

    async def _run(self, *background: Coroutine[Any, Any, None]) -> None:
        try:
            await self.supervisor.run(*background)
        finally:
            self._end_events()

    def _end_events(self) -> None:
        if not self._finished:
            self._finished = True
            for event in self.closing_events():
                self.outbox.put_nowait(event)
            self.outbox.end()
