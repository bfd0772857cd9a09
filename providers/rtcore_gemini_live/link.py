"""Gemini Live's side of the kit's upstream supervisor: how one connection opens (resuming
the session, or seeded with the conversation), is read, and when a turn is in flight.

The supervisor decides when to open, rotate, recover and close. A connection resumes the
server's session with the latest resumable handle; with no handle yet, or when the
conversation changed in a way Gemini's context cannot (a cancelled reply, a truncated or
deleted item), it is a fresh session seeded with the conversation from the mirror. A
``goAway`` asks the supervisor for a new connection at the next turn boundary (or sooner,
mid-turn, once its deadline is close).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from rtcore.kit import UpstreamFailure, text_turns
from rtcore.provider import ProviderUnavailable
from rtcore.provider import messages as n
from rtcore_gemini_live.errors import classify
from rtcore_gemini_live.live import Live, audio_messages
from rtcore_gemini_live.outgoing import Turns, deliver, encode
from rtcore_gemini_live.push_to_talk import marked_turn
from rtcore_gemini_live.setup import Setup, connect_config

if TYPE_CHECKING:
    from rtcore_gemini_live.session import GeminiSession

log = logging.getLogger(__name__)


class GeminiLink:
    def __init__(self, session: GeminiSession) -> None:
        self._s = session
        self._opened = 0

    async def open(self) -> Live:
        s = self._s
        try:
            client = await s.up.client.ready()
        except ProviderUnavailable as exc:
            raise UpstreamFailure(exc.code, exc.message, retryable=False) from None
        handle, ticket = s.resumption.opening()
        history = [] if handle is not None else self._history()
        setup = Setup(voice=s.voice, handle=handle, seeded=bool(history))
        config = connect_config(s.config, s.up.profile, s.up.options, setup)
        context = client.aio.live.connect(model=s.up.profile.id, config=config)
        try:
            async with asyncio.timeout(s.up.options.open_timeout_seconds):
                session = await context.__aenter__()
        except Exception as exc:  # the SDK raises APIError, OSError, websockets' errors
            raise classify(exc, model=s.up.profile.id) from None
        self._opened += 1
        live = Live(session, context, self._opened)
        if history:
            try:
                await deliver(session, encode(Turns(history, complete=True)))
            except Exception as exc:
                await self.abort(live)
                raise classify(exc, model=s.up.profile.id) from None
        s.resumption.opened(ticket, fresh=handle is None)
        s.inbound.new_connection()
        log.debug(
            "Gemini connection %d for session %s: %s",
            live.number,
            s.config.session_id or "?",
            "resumed" if handle else ("seeded" if history else "new"),
        )
        return live

    def _history(self) -> list[Any]:
        """The conversation so far, less the client's items a response has not sent yet
        (its ``response.create`` sends them); all of it counts as sent from here on."""
        mirror = self._s.mirror
        waiting = {i.id for i in mirror.unsent()}
        kept = [i for i in mirror.items if i.id not in waiting]
        mirror.mark_sent(i.id for i in kept)
        return text_turns(kept)

    async def send(self, live: Live, payload: list[bytes]) -> None:
        try:
            for message in payload:
                await deliver(live.session, message)
        except Exception as exc:
            raise classify(exc, model=self._s.up.profile.id) from None

    async def close(self, live: Live) -> None:
        live.closing = True
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self._s.up.options.close_timeout_seconds):
                await live.context.__aexit__(None, None, None)

    async def abort(self, live: Live) -> None:
        await self.close(live)

    def audio_payload(self, live: Live, pcm: list[bytes]) -> list[bytes]:
        rate = self._s.config.input_sample_rate
        out = [m for p in pcm for m in audio_messages(p, rate)]
        return marked_turn(out) if self._s.config.turn_detection is None else out

    async def read(self, live: Live) -> None:
        s, sup = self._s, self._s.supervisor
        try:
            while not live.closing:
                async for message in live.session.receive():
                    if not sup.is_current(live):
                        continue  # late output of a retired connection
                    sup.heard_from(live)
                    await s.on_message(live, message)
        except Exception as exc:
            if live.closing:
                return
            raise classify(exc, model=s.up.profile.id) from None

    # -- what the supervisor asks -------------------------------------------------------

    def at_boundary(self, hurry: bool) -> bool:
        s = self._s
        inbound, audio = s.inbound, s.audio
        return (
            inbound.responses.current is None
            and inbound.responses.ledger.active is None
            and not inbound.turn.open
            and not s.ptt.held_bytes
            and not audio.speaking_recently()
            and (hurry or not audio.unanswered())
            and (hurry or not inbound.open_calls)
        )

    def waiting(self) -> bool:
        return self._s.inbound.responses.ledger.active is not None

    def replay(self, recovering: bool) -> list[bytes]:
        """What the next connection must hear again: speech the current one took but never
        showed it heard (for a broken one, the last seconds of a turn still being taken)."""
        s = self._s
        return s.audio.replay(
            unsent_bytes=s.unsent_audio_bytes(),
            recovering=recovering,
            turn_open=s.inbound.turn.open,
            answering=s.inbound.responses.current is not None,
        )

    async def lost(self, failure: UpstreamFailure, fatal: bool) -> None:
        s = self._s
        events = s.inbound.fail(n.ResponseError(code=failure.code, message=failure.message))
        # Unless fatal, the session resumes on a new connection, from its last handle.
        await s.report_lost(events, failure, fatal=fatal)

    async def tick(self, now: float) -> float | None:
        return None
