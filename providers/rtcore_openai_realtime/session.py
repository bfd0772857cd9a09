"""One client conversation on an OpenAI-protocol upstream: the ``ProviderSession``, on the
provider kit.

The kit's ``UpstreamSupervisor`` keeps one upstream connection alive (opened when first
needed; replaced before the vendor's session cap at a turn boundary, or after
``session_expired`` or a broken socket, by a session seeded with the conversation and the
unanswered audio replayed; a backlog meanwhile); ``OpenAILink`` (link.py) is its protocol side. The
upstream speaks the same protocol as the client, so most commands map one to one: what is
left here is naming (the upstream's ids for items on each connection), holding a
``response.create`` while the upstream still produces a cancelled one, and audio
bookkeeping for replay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from rtcore.kit import (
    ConversationMirror,
    InputAudio,
    SupervisedSession,
    UpstreamAdapter,
    UpstreamSupervisor,
)
from rtcore.provider import messages as n
from rtcore.provider import remote_tools as rt
from rtcore_openai_realtime import outgoing
from rtcore_openai_realtime.inbound import Actions, Inbound
from rtcore_openai_realtime.shared import Shared
from rtcore_openai_realtime.upstream import Upstream

log = logging.getLogger(__name__)


class OpenAISession(SupervisedSession[Upstream]):
    audio: InputAudio

    def __init__(
        self,
        up: Shared,
        config: n.SessionConfig,
        link: Callable[[OpenAISession], UpstreamAdapter[Upstream]],
    ) -> None:
        """``link``: the protocol side of the supervisor, made for this session."""
        super().__init__(close_timeout_seconds=up.options.close_timeout_seconds)
        self.up = up
        self.config = config
        self.inbound = Inbound(echoes_metadata=up.vendor != "xai")
        self.mirror = ConversationMirror()
        self.audio = _input_audio(config)
        # Push-to-talk audio a connection took since the last commit (replayed to the
        # next one should it go before the commit).
        self.ptt_sent: list[bytes] = []
        # In-band responses waiting for the upstream to finish the one it produces.
        self.waiting_creates: list[n.CreateResponse] = []
        self.supervisor = UpstreamSupervisor[Upstream](
            link(self),
            up.options.policy(up.profile.session_cap_seconds, self.audio.bytes_per_ms * 1000),
            name=up.vendor,
            session=config.session_id,
        )
        self.start("openai-realtime-session")

    # -- ProviderSession --------------------------------------------------------------------

    async def on_command(self, command: n.Command) -> None:
        match command:
            case n.AppendAudio(pcm=pcm):
                await self._append(pcm)
            case n.Configure(config=config, changed=changed):
                await self._configure(config, changed)
            case n.CommitAudio(item_id=item_id):
                await self._commit(item_id)
            case n.ClearAudio():
                await self._clear()
            case n.AddItem():
                self.mirror.apply(command)
                await self._add(command)
            case n.UpdateItem():
                self.mirror.apply(command)
            case n.DeleteItem(item_id=item_id):
                self.mirror.apply(command)
                await self._delete(item_id)
            case n.TruncateItem():
                self.mirror.apply(command)
                await self._truncate(command)
            case n.CreateResponse():
                await self._create(command)
            case n.CancelResponse(response_id=response_id):
                await self._cancel(response_id)
            case rt.AnswerApproval():
                await self._answer(command)

    def closing_events(self) -> Iterable[n.Event]:
        return self.inbound.fail_all(None, "cancelled")

    async def on_event(self, up: Upstream, ev: dict[str, Any]) -> None:
        """One event of the live connection."""
        actions = Actions()
        kind = ev.get("type")
        if kind == "error":
            await self.emit(self._error(ev.get("error") or {}))
            return
        events = self.inbound.feed(up, ev, actions)
        if self.inbound.heard:
            self.inbound.heard = False
            self.audio.acknowledge()
        if kind == "input_audio_buffer.committed":
            self.ptt_sent.clear()
        for event in events:
            if isinstance(event, n.InputTranscript) and event.final:
                told = self.inbound.transcribed.get(event.item_id, "")
                self.mirror.heard(event.item_id, told + event.text)
        await self.emit(events)
        for upstream_id in actions.cancel:
            await self._send(outgoing.event("response.cancel", response_id=upstream_id))
        if actions.idle and self.waiting_creates:
            waiting, self.waiting_creates = self.waiting_creates, []
            for create in waiting:
                await self._create(create)

    def _error(self, error: dict[str, Any]) -> list[n.Event]:
        """An error event the session survives: a refused response.create fails that
        response (one that only found another running waits for it); any other is the
        client's to hear."""
        code = str(error.get("code") or "upstream_error")
        message = str(error.get("message") or "")
        event_id = str(error.get("event_id") or "")
        if event_id.startswith("rtcore_resp_"):
            core_id = event_id.removeprefix("rtcore_")
            if code == "conversation_already_has_active_response":
                waiting = self.inbound.unsend(core_id)
                if waiting is not None:
                    self.waiting_creates.append(waiting)
                    return []
            failed = self.inbound.failed_request(
                core_id, n.ResponseError(code=code, message=message)
            )
            return [*failed, n.ProviderError(code=code, message=message, param=error.get("param"))]
        return [n.ProviderError(code=code, message=message, param=error.get("param"))]

    # -- commands ---------------------------------------------------------------------------

    async def _send(self, message: bytes, *, audio: int = 0) -> None:
        def build(up: Upstream) -> list[bytes]:
            return [message]

        await self.supervisor.send(build, audio=audio, client=audio)

    def transcriber(self) -> str | None:
        """The transcription model the upstream runs (the client's, else the one that
        keeps spoken turns as text for a new session)."""
        if self.config.transcription is not None:
            return self.config.transcription.model or outgoing.history_transcriber(
                self.up.vendor, None
            )
        return outgoing.history_transcriber(
            self.up.vendor, self.up.options.history_transcription_model
        )

    def session_update(self) -> bytes:
        fallback = None if self.config.transcription is not None else self.transcriber()
        return outgoing.session_update(self.config, self.up.vendor, fallback)

    async def _configure(self, config: n.SessionConfig, changed: frozenset[str]) -> None:
        self.config = config
        if changed & {"input_sample_rate", "input_encoding"}:
            self.audio = _input_audio(config)
            # Audio held while the upstream is away is bounded in seconds of the format
            # it now crosses in.
            self.supervisor.policy = msgspec.structs.replace(
                self.supervisor.policy,
                max_backlog_bytes=self.up.options.backlog_bytes(self.audio.bytes_per_ms * 1000),
            )
        if not changed:
            return
        update = self.session_update()
        self.inbound.transcribing = self.transcriber() is not None
        await self._send(update)

    async def _append(self, pcm: bytes) -> None:
        self.audio.observe(pcm)
        ptt = self.config.turn_detection is None

        def build(up: Upstream) -> list[bytes]:
            if ptt:
                self.ptt_sent.append(pcm)
            return [outgoing.append(pcm)]

        await self.supervisor.send(build, audio=len(pcm), client=len(pcm))

    def unsent_audio_ms(self) -> float:
        return self.supervisor.held_client_audio / self.audio.bytes_per_ms

    async def _commit(self, item_id: str) -> None:
        def build(up: Upstream) -> list[bytes]:
            self.inbound.commits.append(item_id)
            return [outgoing.event("input_audio_buffer.commit")]

        await self.supervisor.send(build)

    async def _clear(self) -> None:
        self.audio.clear()

        def build(up: Upstream) -> list[bytes]:
            self.ptt_sent.clear()
            return [outgoing.event("input_audio_buffer.clear")]

        await self.supervisor.send(build)

    async def _add(self, add: n.AddItem) -> None:
        item, previous = add.item, add.previous_item_id

        def build(up: Upstream) -> list[bytes]:
            if item.id in up.up_of:
                return []  # the connection was seeded with it
            if add.source != "client" and self._adopt(up, item):
                return []
            self.mirror.mark_sent([item.id])
            up.name(item.id, item.id)
            before = None if previous is None else up.up_of.get(previous)
            return [outgoing.item_create(item, item.id, before)]

        await self.supervisor.send(build)

    async def _answer(self, answer: rt.AnswerApproval) -> None:
        """The client's answer to the vendor's approval request (a connection that never
        made the request has nothing to answer)."""

        def build(up: Upstream) -> list[bytes]:
            if answer.approval_request_id not in up.mcp_items:
                return []
            up.name(answer.item_id, answer.item_id)
            previous = answer.previous_item_id
            before = None if previous is None else up.up_of.get(previous, previous)
            return [outgoing.answer_approval(answer, before)]

        await self.supervisor.send(build)

    def _adopt(self, up: Upstream, item: n.Item) -> bool:
        """An item the upstream made itself on this connection (a spoken turn, a reply, a
        call): the core's id for it is now known. False when this connection never saw it
        (it opened after), so that it is created here."""
        if isinstance(item, n.FunctionCall):
            if (upstream_id := up.call_items.get(item.call_id)) is None:
                return False
            up.name(item.id, upstream_id)
            return True
        if isinstance(item, n.Message) and item.role == "assistant":
            if not up.assistant:
                return False
            up.name(item.id, up.assistant.popleft())
            return True
        # A committed turn the upstream has not acknowledged yet: named when it does.
        return item.id in self.inbound.commits

    async def _delete(self, item_id: str) -> None:
        def build(up: Upstream) -> list[bytes]:
            upstream_id = up.up_of.get(item_id)
            up.forget(item_id)
            if upstream_id is None:
                return []
            return [outgoing.event("conversation.item.delete", item_id=upstream_id)]

        await self.supervisor.send(build)

    async def _truncate(self, cut: n.TruncateItem) -> None:
        def build(up: Upstream) -> list[bytes]:
            upstream_id = up.up_of.get(cut.item_id)
            if upstream_id is None:
                return []
            if upstream_id != cut.item_id:
                return [
                    outgoing.event(
                        "conversation.item.truncate",
                        item_id=upstream_id,
                        content_index=0,
                        audio_end_ms=cut.audio_end_ms,
                    )
                ]
            # An item this connection was given as text: it is replaced by its cut text.
            item = self.mirror.get(cut.item_id)
            if item is None:
                return []
            ids = [i.id for i in self.mirror.items]
            at = ids.index(cut.item_id)
            before = up.up_of.get(ids[at - 1]) if at > 0 else None
            return [
                outgoing.event("conversation.item.delete", item_id=upstream_id),
                outgoing.item_create(item, upstream_id, before),
            ]

        await self.supervisor.send(build)

    async def _create(self, create: n.CreateResponse) -> None:
        if create.response_id not in self.inbound.open:
            self.inbound.requested(create)
        config = self.config

        def build(up: Upstream) -> list[bytes]:
            if create.response_id not in self.inbound.open:
                return []  # cancelled while it waited
            if create.conversation and (up.busy is not None or self.inbound.pending_in_band()):
                self.waiting_creates.append(create)
                return []
            self.inbound.sent(create)
            message = outgoing.response_create(create, config, self.up.vendor)
            return [_with_event_id(message, "rtcore_" + create.response_id)]

        await self.supervisor.send(build)

    async def _cancel(self, response_id: str) -> None:
        self.waiting_creates = [c for c in self.waiting_creates if c.response_id != response_id]
        done, upstream_id = self.inbound.cancel(response_id)
        if done is None:
            return
        await self.emit([done])
        if upstream_id is not None:
            await self._send(outgoing.event("response.cancel", response_id=upstream_id))


def _with_event_id(message: bytes, event_id: str) -> bytes:
    """The client's event id on an event, so that an error about it names it."""
    return b'{"event_id":"' + event_id.encode() + b'",' + message[1:]


def _input_audio(config: n.SessionConfig) -> InputAudio:
    """The user's audio as it comes: PCM16, or the client's G.711 passed through."""
    return InputAudio(config.input_sample_rate, encoding=config.input_encoding)
