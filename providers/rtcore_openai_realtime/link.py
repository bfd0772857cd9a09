"""The OpenAI Realtime protocol's side of the kit's upstream supervisor: how one
connection opens (the session's settings, then the conversation so far, each item under
the core's id), is read, and when a turn is in flight.

A new connection (the first, a rotation before the vendor's session cap, a recovery after
``session_expired`` or a broken socket) is a fresh upstream session seeded from the
``ConversationMirror``: past audio turns go in as their transcripts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import msgspec

from rtcore.kit import UpstreamFailure
from rtcore.provider import messages as n
from rtcore_openai_realtime import outgoing
from rtcore_openai_realtime.errors import at_connect, from_close, from_error_event, from_exception
from rtcore_openai_realtime.upstream import Upstream

if TYPE_CHECKING:
    from rtcore_openai_realtime.session import OpenAISession

log = logging.getLogger(__name__)

_decode = msgspec.json.Decoder(dict[str, Any]).decode
# The first events of a session: the upstream's greeting (OpenAI and Azure send
# session.created; xAI conversation.created, and session.created).
_GREETINGS = ("session.created", "conversation.created", "session.updated")


class OpenAILink:
    def __init__(self, session: OpenAISession) -> None:
        self._s = session
        self._opened = 0
        # The length of audio the next connection is replayed (its clock starts there).
        self.replay_ms = 0.0

    async def open(self) -> Upstream:
        s = self._s
        opt = s.up.options
        manager = s.up.client.realtime.connect(model=s.up.profile.model)
        try:
            async with asyncio.timeout(opt.open_timeout_seconds):
                connection = await manager.__aenter__()
                first = _decode(await connection.recv_bytes())
        except Exception as exc:  # the SDK's, websockets' and the OS's failures
            raise self._failure(exc) from None
        if first.get("type") == "error":
            with contextlib.suppress(Exception):
                await connection.close()
            raise at_connect(first.get("error") or {}, s.up.vendor, s.up.profile.model)
        self._opened += 1
        base = max(0.0, s.audio.position_ms - s.unsent_audio_ms() - self.replay_ms)
        up = Upstream(manager, connection, self._opened, base)
        self.replay_ms = 0.0
        try:
            await self._send_all(up, [s.session_update(), *self._history(up)])
        except Exception as exc:
            await self.abort(up)
            raise self._failure(exc) from None
        s.inbound.transcribing = s.transcriber() is not None
        log.debug(
            "%s connection %d for session %s (%d items of history)",
            s.up.vendor,
            up.number,
            s.config.session_id or "?",
            len(up.up_of),
        )
        return up

    def _history(self, up: Upstream) -> list[bytes]:
        """The conversation so far, each item under the core's id."""
        out: list[bytes] = []
        previous: str | None = None
        for item in self._s.mirror.items:
            out.append(outgoing.item_create(item, item.id, previous))
            up.name(item.id, item.id)
            previous = item.id
        self._s.mirror.mark_sent()
        return out

    def _failure(self, exc: BaseException) -> UpstreamFailure:
        return from_exception(exc, self._s.up.vendor, self._s.up.profile.model)

    async def _send_all(self, up: Upstream, payload: list[bytes]) -> None:
        for message in payload:
            await up.connection.send_raw(message.decode())

    async def send(self, up: Upstream, payload: list[bytes]) -> None:
        try:
            await self._send_all(up, payload)
        except Exception as exc:
            raise self._failure(exc) from None

    async def read(self, up: Upstream) -> None:
        s, sup = self._s, self._s.supervisor
        vendor, model = s.up.vendor, s.up.profile.model
        while not up.closing:
            try:
                raw = await up.connection.recv_bytes()
            except Exception as exc:
                if up.closing:
                    return
                close = getattr(exc, "rcvd", None)
                if close is not None:
                    raise from_close(close.code, close.reason, vendor, model) from None
                raise self._failure(exc) from None
            if not sup.is_current(up):
                continue  # late output of a retired connection
            sup.heard_from(up)
            try:
                ev = _decode(raw)
            except msgspec.DecodeError:
                continue
            if ev.get("type") == "error":
                error = ev.get("error") or {}
                failure = from_error_event(error, vendor, model)
                if failure is not None:
                    raise failure
            await s.on_event(up, ev)

    async def close(self, up: Upstream) -> None:
        up.closing = True
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self._s.up.options.close_timeout_seconds):
                await up.connection.close()

    async def abort(self, up: Upstream) -> None:
        up.closing = True
        transport = getattr(getattr(up.connection, "_connection", None), "transport", None)
        if transport is not None:
            transport.abort()
            return
        await self.close(up)

    # -- what the supervisor asks -------------------------------------------------------

    def at_boundary(self, hurry: bool) -> bool:
        s = self._s
        inbound = s.inbound
        return (
            not inbound.open
            and not inbound.pending
            and inbound.speaking is None
            and not inbound.commits
            and not s.ptt_sent
            and not s.waiting_creates
            and (hurry or not s.audio.speaking_recently())
            and (hurry or not s.audio.unanswered())
        )

    def waiting(self) -> bool:
        inbound = self._s.inbound
        return bool(inbound.pending) or any(r.upstream_id for r in inbound.open.values())

    def replay(self, recovering: bool) -> list[bytes]:
        """What the next connection must hear again: push-to-talk audio it took and no
        commit claimed, or speech it took but never answered."""
        s = self._s
        if s.config.turn_detection is None:
            pcm = list(s.ptt_sent)
        else:
            sent_ms = s.audio.position_ms - s.unsent_audio_ms()
            if recovering and s.inbound.speaking is not None:
                # The turn being heard, from just before it began.
                since = s.inbound.speaking_since_ms - 300
                pcm = s.audio.recent(until_ms=sent_ms, within_ms=max(0.0, sent_ms - since))
            else:
                pcm = s.audio.unanswered_audio(until_ms=sent_ms)
        self.replay_ms = sum(len(p) for p in pcm) / s.audio.bytes_per_ms
        return pcm

    def audio_payload(self, up: Upstream, pcm: list[bytes]) -> list[bytes]:
        return [outgoing.append(p) for p in pcm if p]

    async def lost(self, failure: UpstreamFailure, fatal: bool) -> None:
        s = self._s
        error = n.ResponseError(code=failure.code, message=failure.message)
        events = s.inbound.fail_all(error, "failed")
        if not fatal and failure.code != "session_expired":
            log.info("%s connection lost (%s): reconnecting", s.up.vendor, failure.message)
        await s.report_lost(events, failure, fatal=fatal)

    async def tick(self, now: float) -> float | None:
        return None
