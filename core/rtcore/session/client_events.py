"""The session machine's part for client events: each one checked and turned into the
commands for the provider and the server events it answers with. The dialect is settled by
the client's first event, and a change of settings reaches the provider before the audio
that follows it. Mixed into ``RealtimeSession``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from msgspec import UNSET

from rtcore.dialect import Dialect
from rtcore.ids import new_id
from rtcore.mcp.spec import McpAccess
from rtcore.protocol import client as c
from rtcore.protocol import server as s
from rtcore.protocol.errors import RealtimeError
from rtcore.provider import Capabilities
from rtcore.provider import messages as n
from rtcore.session.conversation import Conversation, ConvItem, truncate_item
from rtcore.session.dialect_events import Vocabulary
from rtcore.session.items import item_from_wire
from rtcore.session.media import MediaSink
from rtcore.session.render import render_item, render_session
from rtcore.session.response_params import response_options
from rtcore.session.responses import ActiveResponse
from rtcore.session.settings import SessionState, with_input_rate
from rtcore.session.transcripts import InputTranscripts
from rtcore.session.update import apply_update

if TYPE_CHECKING:
    from rtcore.session.mcp_bridge import McpBridge
    from rtcore.session.remote_mcp import RemoteMcp

Commands = list[n.Command]


class ClientEvents:
    """Mixed into ``RealtimeSession``: the attributes below are the session's."""

    caps: Capabilities
    settings: SessionState
    dialect: Dialect | None
    _explicit_dialect: Dialect | None
    _default_dialect: Dialect
    _mcp_access: McpAccess
    _media: MediaSink | None
    conversation: Conversation
    responses: dict[str, ActiveResponse]
    _transcripts: InputTranscripts
    _pending: Commands

    if TYPE_CHECKING:
        mcp: McpBridge
        remote_mcp: RemoteMcp

        @property
        def vocabulary(self) -> Vocabulary: ...

        @property
        def response(self) -> ActiveResponse | None: ...

        def neutral_config(self) -> n.SessionConfig: ...

        def emit(self, event: s.ServerEvent) -> None: ...

        def _pcm16_rate(self) -> int: ...

        def _rebuild_converters(self) -> None: ...

        def _append(self, audio: bytes) -> Commands: ...

        def _commit(self) -> Commands: ...

        def _clear(self) -> Commands: ...

        def _announce_item(self, item: ConvItem, previous: str | None) -> None: ...

        def _within_bounds(self) -> Commands: ...

        def _for_provider(self, item: ConvItem) -> n.Item: ...

        def _open_response(
            self,
            response_id: str,
            modalities: tuple[str, ...],
            metadata: dict[str, str] | None,
            *,
            out_of_band: bool = False,
            options: n.ResponseOptions = ...,
        ) -> ActiveResponse: ...

        def _close_response(self, response: ActiveResponse, done: n.ResponseDone) -> None: ...

        def _clear_playback(self) -> Commands | None: ...

    def handle(self, event: c.AnyClientEvent) -> Commands:
        if type(event) is c.InputAudioBufferAppend and self.dialect is not None:
            # The hot path (50 events a second per session): an append changes no setting,
            # so the before/after comparison of the session's configuration is skipped.
            try:
                return self._append(event.audio)
            except RealtimeError as err:
                if err.event_id is None and not isinstance(event.event_id, msgspec.UnsetType):
                    err.event_id = event.event_id
                raise
        before = self.neutral_config()
        if self.dialect is None:
            self._choose_dialect(event)
        try:
            commands = self._dispatch(event)
        except RealtimeError as err:
            if err.event_id is None and not isinstance(event.event_id, msgspec.UnsetType):
                err.event_id = event.event_id
            # The dialect this event chose stands even though the event is refused, and
            # with it the input audio's rate: the provider must hear of it before the
            # audio that follows (``take_pending``).
            self._pending += self._configure_since(before)
            raise
        commands += self._within_bounds()
        # First, so that audio in the same batch is read with the new settings.
        return [*self._configure_since(before), *commands]

    def _configure_since(self, before: n.SessionConfig) -> Commands:
        after = self.neutral_config()
        changed = frozenset(
            f for f in after.__struct_fields__ if getattr(before, f) != getattr(after, f)
        )
        return [n.Configure(config=after, changed=changed)] if changed else []

    def take_pending(self) -> Commands:
        """Commands for the provider left by a client event that was refused."""
        pending, self._pending = self._pending, []
        return pending

    def _choose_dialect(self, event: c.AnyClientEvent) -> None:
        if isinstance(event, c.SessionUpdate):
            self.dialect = Dialect.GA if event.session.type is not UNSET else Dialect.BETA
        else:
            self.dialect = self._default_dialect
        rate = self._pcm16_rate()
        if self.dialect is Dialect.BETA and rate != self.settings.input_format.sample_rate:
            self.settings = with_input_rate(self.settings, rate)
            self._rebuild_converters()

    def _dispatch(self, event: c.AnyClientEvent) -> Commands:
        match event:
            case c.InputAudioBufferAppend():
                return self._append(event.audio)
            case c.SessionUpdate():
                return self._session_update(event)
            case c.ConversationItemCreate():
                return self._item_create(event)
            case c.ResponseCreate():
                return self._response_create(event)
            case c.ResponseCancel():
                return self._response_cancel(event)
            case c.InputAudioBufferCommit():
                return self._commit()
            case c.InputAudioBufferClear():
                return self._clear()
            case c.ConversationItemRetrieve():
                return self._item_retrieve(event)
            case c.ConversationItemDelete():
                return self._item_delete(event)
            case c.ConversationItemTruncate():
                return self._truncate(event)
            case c.OutputAudioBufferClear():
                return self._output_audio_clear()
            case c.TranscriptionSessionUpdate():
                raise RealtimeError(
                    "unsupported_event",
                    "Transcription-only sessions are not supported by this gateway; use a "
                    "realtime session (its user audio is transcribed too).",
                    param="type",
                )
        raise AssertionError(f"unhandled client event {type(event).__name__}")

    def _session_update(self, event: c.SessionUpdate) -> Commands:
        if self._explicit_dialect is Dialect.GA and event.session.type is UNSET:
            raise RealtimeError(
                "missing_required_parameter",
                "Missing required parameter: 'session.type'.",
                param="session.type",
            )
        old_formats = (self.settings.input_format, self.settings.output_format)
        self.settings = apply_update(
            self.settings,
            event.session,
            dialect=self.vocabulary.dialect,
            caps=self.caps,
            pcm16_rate=self._pcm16_rate(),
            mcp=self._mcp_access,
        )
        if (self.settings.input_format, self.settings.output_format) != old_formats:
            self._rebuild_converters()
        self.emit(
            s.SessionUpdated(
                event_id="", session=render_session(self.settings, self.vocabulary.dialect)
            )
        )
        self.mcp.configure(() if self.caps.remote_mcp else self.settings.mcp_servers)
        return []

    def _item_create(self, event: c.ConversationItemCreate) -> Commands:
        if event.item.type == "mcp_approval_response":
            after = None if event.previous_item_id is UNSET else event.previous_item_id
            runs = self.remote_mcp if self.caps.remote_mcp else self.mcp
            return runs.approval(event.item, after)
        item = item_from_wire(event.item, self.conversation)
        if event.previous_item_id is UNSET:
            previous = self.conversation.append(item)
        else:
            previous = self.conversation.insert(item, event.previous_item_id)
        self._announce_item(item, previous)
        after = self.conversation.model_previous(previous)
        return [n.AddItem(item=self._for_provider(item), previous_item_id=after)]

    def _item_retrieve(self, event: c.ConversationItemRetrieve) -> Commands:
        item = self.conversation.require(event.item_id)
        self.emit(
            s.ConversationItemRetrieved(
                event_id="", item=render_item(item, self.vocabulary.dialect)
            )
        )
        return []

    def _item_delete(self, event: c.ConversationItemDelete) -> Commands:
        gone = self.conversation.require(event.item_id)
        self.conversation.delete(event.item_id)
        self._transcripts.drop(event.item_id)
        self.emit(s.ConversationItemDeleted(event_id="", item_id=event.item_id))
        if gone.type.startswith("mcp_") and not gone.remote:
            # What the model knew of it (a tool list: nothing).
            return [n.DeleteItem(item_id=i.id) for i in gone.for_model()]
        return [n.DeleteItem(item_id=event.item_id)]

    def _output_audio_clear(self) -> Commands:
        if self._media is not None:
            # Out of band, the server plays the reply: it stops it here.
            cut = self._clear_playback()
            if cut is None:
                self.emit(s.OutputAudioBufferCleared(event_id=""))
            return cut or []
        # Audio already sent over a WebSocket is the client's to drop; acknowledge.
        rid = next(reversed(self.responses), None) or UNSET
        self.emit(s.OutputAudioBufferCleared(event_id="", response_id=rid))
        return []

    def _truncate(self, event: c.ConversationItemTruncate) -> Commands:
        if not self.caps.truncate:
            raise RealtimeError(
                "unsupported_event",
                "This model cannot cut an assistant item to what was heard: "
                "conversation.item.truncate is not supported.",
                param="type",
            )
        item = self.conversation.require(event.item_id)
        cut = truncate_item(item, event.content_index, event.audio_end_ms)
        streaming = next((r for r in self.responses.values() if r.truncate(item)), None)
        self.emit(
            s.ConversationItemTruncated(
                event_id="",
                item_id=item.id,
                content_index=event.content_index,
                audio_end_ms=event.audio_end_ms,
            )
        )
        return [
            n.TruncateItem(
                item_id=item.id,
                audio_end_ms=event.audio_end_ms,
                text=cut,
                streaming_in=streaming.id if streaming is not None else None,
            )
        ]

    def _response_create(self, event: c.ResponseCreate) -> Commands:
        params = None if event.response is UNSET else event.response
        options, modalities, metadata, out_of_band = response_options(
            params, self.settings, self.caps
        )
        if not out_of_band and (active := self.response) is not None:
            raise RealtimeError(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {active.id}. "
                "Wait until the response is finished before creating a new one.",
            )
        response = self._open_response(
            new_id("resp_"), modalities, metadata, out_of_band=out_of_band, options=options
        )
        return [
            n.CreateResponse(response_id=response.id, options=options, conversation=not out_of_band)
        ]

    def _response_cancel(self, event: c.ResponseCancel) -> Commands:
        if not self.caps.cancel:
            raise RealtimeError(
                "unsupported_event",
                "This model cannot stop a response once it has begun: response.cancel is "
                "not supported. Wait for response.done.",
                param="type",
            )
        if event.response_id is UNSET:
            response = self.response or next(reversed(self.responses.values()), None)
        else:
            response = self.responses.get(event.response_id)
        if response is None:
            raise RealtimeError(
                "response_cancel_not_active",
                "Cancellation failed: no active response found.",
            )
        # A response open only for its MCP calls is nothing the provider still produces.
        theirs = not self.mcp.held(response.id)
        # Closed now, for the client; whatever the provider still sends for it is dropped.
        self._close_response(
            response,
            n.ResponseDone(response_id=response.id, status="cancelled", reason="client_cancelled"),
        )
        commands: Commands = [n.CancelResponse(response_id=response.id)] if theirs else []
        if any(item.type == "mcp_call" for item in response.items):
            # Its stopped MCP calls, as failed calls, reach the model now: a provider done
            # with the response sends nothing more that would carry them.
            commands += self._pending
            self._pending = []
        return commands
