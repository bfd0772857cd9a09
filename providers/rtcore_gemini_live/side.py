"""An out-of-band reply (``conversation: "none"``) on Gemini: the kit's ``OutOfBandReply``
on a short-lived connection of its own, seeded with the conversation as history, so that
neither the request nor the reply ever enters the live session's context. Gemini cannot
cancel a reply: closing that connection is what stops it generating."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

from rtcore.kit import (
    ConversationMirror,
    EventOutbox,
    Forward,
    OutOfBandReply,
    TextTurn,
    answered_and_owed,
    text_turns,
)
from rtcore.provider import messages as n
from rtcore_gemini_live.errors import classify
from rtcore_gemini_live.inbound import Inbound
from rtcore_gemini_live.outgoing import Turns, deliver, encode
from rtcore_gemini_live.setup import Setup, connect_config
from rtcore_gemini_live.upstream import Upstream


class SideOwner(Protocol):
    """What an out-of-band reply takes from the live session it serves."""

    up: Upstream
    config: n.SessionConfig
    voice: str
    mirror: ConversationMirror
    outbox: EventOutbox


def side_reply(
    session: SideOwner, create: n.CreateResponse, *, on_done: Callable[[str], object]
) -> OutOfBandReply:
    side = _Side(session, create)
    return OutOfBandReply(
        create,
        session.outbox,
        side.converse,
        classify=side.failure,
        on_done=on_done,
        name="gemini-live-side-reply",
    )


class _Side:
    def __init__(self, session: SideOwner, create: n.CreateResponse) -> None:
        self._s = session
        self.create = create
        modalities = create.options.output_modalities or session.config.output_modalities
        # Its own translator: the reply is the one response of this connection.
        self._inbound = Inbound(modalities, blocking_tools=True)
        self._inbound.turn.manual = True

    def failure(self, exc: Exception) -> n.ResponseError:
        failure = classify(exc, model=self._s.up.profile.id)
        return n.ResponseError(code=failure.code, message=failure.message)

    async def converse(self, forward: Forward) -> None:
        s, create = self._s, self.create
        # The conversation up to the model's last word is history; what the user said
        # after it (if anything) is what this reply answers.
        answered, owed = answered_and_owed(s.mirror.items)
        history, prompt = text_turns(answered), text_turns(owed)
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
            while True:  # receive() stops at the end of each turn
                async for message in session.receive():
                    if await forward(self._inbound.feed(message, onset_ms=0, audio_ms=0)):
                        return
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(s.up.options.close_timeout_seconds):
                    await context.__aexit__(None, None, None)
