"""An out-of-band reply (``conversation: "none"``): generated on a short-lived connection
of its own, seeded with the conversation as history, so that neither the request nor the
reply ever enters the live session's context. Cancelling it closes that connection, which
is what stops Gemini generating it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from rtcore.kit import ConversationMirror, EventOutbox, TextTurn, text_turns
from rtcore.provider import ProviderUnavailable
from rtcore.provider import messages as n
from rtcore_gemini_live.errors import classify
from rtcore_gemini_live.inbound import Inbound
from rtcore_gemini_live.outgoing import Turns, deliver, encode
from rtcore_gemini_live.setup import Setup, connect_config
from rtcore_gemini_live.upstream import Upstream

log = logging.getLogger(__name__)


class SideOwner(Protocol):
    """What an out-of-band reply takes from the live session it serves."""

    up: Upstream
    config: n.SessionConfig
    voice: str
    mirror: ConversationMirror
    outbox: EventOutbox


class SideReply:
    def __init__(
        self,
        session: SideOwner,
        create: n.CreateResponse,
        *,
        on_done: Callable[[str], object],
    ) -> None:
        self._s = session
        self.create = create
        self._on_done = on_done
        self._done = False
        self._task: asyncio.Task[None] | None = None
        modalities = create.options.output_modalities or session.config.output_modalities
        # Its own translator: the reply is the one response of this connection.
        self._inbound = Inbound(modalities, blocking_tools=True)
        self._inbound.turn.manual = True

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gemini-live-side-reply")

    async def cancel(self, reason: str) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._finish(
            n.ResponseDone(response_id=self.create.response_id, status="cancelled", reason=reason)
        )

    async def _finish(self, done: n.ResponseDone) -> None:
        if self._done:
            return
        self._done = True
        self._on_done(self.create.response_id)
        await self._s.outbox.put(done)

    async def _run(self) -> None:
        s, rid = self._s, self.create.response_id
        try:
            await self._converse()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the SDK's failures, a refused connection
            failure = classify(exc, model=s.up.profile.id)
            if isinstance(exc, ProviderUnavailable):
                failure.code, failure.message = exc.code, exc.message
            log.warning("out-of-band reply failed (%s): %s", failure.code, failure.message)
            error = n.ResponseError(code=failure.code, message=failure.message)
            await self._finish(n.ResponseDone(response_id=rid, status="failed", error=error))

    async def _converse(self) -> None:
        s, create = self._s, self.create
        turns = text_turns(s.mirror.items)
        # The conversation up to its last model turn is history; what the user said
        # after it (if anything) is what this reply answers.
        cut = max((i + 1 for i, t in enumerate(turns) if t.role == "assistant"), default=0)
        history, prompt = turns[:cut], turns[cut:]
        instructions = create.options.instructions
        if not prompt:
            prompt = [TextTurn("user", f"({instructions})" if instructions else "(Please reply.)")]
        setup = Setup(voice=s.voice, side=True, seeded=bool(history), instructions=instructions)
        config = connect_config(s.config, s.up.profile, s.up.options, setup)
        client = await s.up.client.ready()
        self._inbound.responses.request(create, self._inbound.modalities)
        async with asyncio.timeout(s.up.options.open_timeout_seconds):
            context = client.aio.live.connect(model=s.up.profile.id, config=config)
            session = await context.__aenter__()
        try:
            if history:
                await deliver(session, encode(Turns(history, complete=True)))
            await deliver(session, encode(Turns(prompt, complete=True)))
            while not self._done:
                async for message in session.receive():
                    await self._on(message)
                    if self._done:
                        break
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(s.up.options.close_timeout_seconds):
                    await context.__aexit__(None, None, None)

    async def _on(self, message: Any) -> None:
        for event in self._inbound.feed(message, onset_ms=0, audio_ms=0):
            if isinstance(event, n.ResponseDone):
                await self._finish(event)
                return
            if isinstance(event, n.ToolCall | n.AudioDelta | n.TextDelta | n.TranscriptDelta):
                await self._s.outbox.put(event)
