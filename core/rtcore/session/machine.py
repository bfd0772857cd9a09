"""The session state machine: client events in, provider commands and server events out.

It does no I/O (as in ``websockets``' protocol layer): ``handle`` and ``on_event`` return the
commands for the provider and queue server events, which ``drain`` hands to the connection.
Client mistakes raise ``RealtimeError``; the connection turns that into an ``error`` event.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import msgspec
from msgspec import UNSET

from rtcore.audio import AudioFormat, InputConverter, OutputConverter
from rtcore.dialect import Dialect
from rtcore.ids import new_id
from rtcore.mcp.jobs import Result as McpResult
from rtcore.mcp.spec import McpAccess
from rtcore.protocol import client as c
from rtcore.protocol import server as s
from rtcore.protocol.errors import RealtimeError
from rtcore.protocol.objects import ErrorOut
from rtcore.provider import Capabilities
from rtcore.provider import messages as neutral
from rtcore.provider import remote_tools as rt
from rtcore.session.call_ids import CallIds
from rtcore.session.conversation import Conversation, ConvItem, Part, truncate_item
from rtcore.session.dialect_events import Vocabulary, vocabulary
from rtcore.session.handover import SessionHandover
from rtcore.session.idle import IdleTimeout
from rtcore.session.ids import EventIds
from rtcore.session.items import item_from_wire
from rtcore.session.mcp_bridge import McpBridge
from rtcore.session.media import MEDIA_FORMAT, MediaSink
from rtcore.session.media_playback import MediaPlayback
from rtcore.session.remote_mcp import RemoteMcp
from rtcore.session.render import render_item, render_limits, render_session
from rtcore.session.response_params import conversation_id, response_options, response_shell
from rtcore.session.responses import ActiveResponse
from rtcore.session.settings import SessionState, to_neutral, with_input_rate
from rtcore.session.transcripts import InputTranscripts, transcript_outcome
from rtcore.session.update import apply_update

SESSION_LIFETIME_S = 60 * 60
MIN_COMMIT_MS = 100
# The seed's programs and LiteLLM's users send 16 kHz audio labelled "pcm16" without any
# dialect signal; OpenAI's own clients (which signal the dialect) send 24 kHz.
UNSIGNALLED_BETA_PCM16_RATE = 16000
OPENAI_PCM16_RATE = 24000
_NO_OVERRIDES = neutral.ResponseOptions()

Commands = list[neutral.Command]
_NO_COMMANDS: tuple[neutral.Command, ...] = ()


class RealtimeSession(MediaPlayback, SessionHandover):
    def __init__(
        self,
        *,
        model: str,
        caps: Capabilities,
        dialect: Dialect | None,
        default_dialect: Dialect,
        pcm16_input_rate: int | None = None,
        lifetime_seconds: int = SESSION_LIFETIME_S,
        media: MediaSink | None = None,
        mcp: McpAccess | None = None,
    ) -> None:
        self.caps = caps
        self._mcp_access = mcp or McpAccess()
        # WebRTC: audio in and out at MEDIA_FORMAT through the transport, whatever
        # formats the client names (OpenAI ignores them on WebRTC too).
        self._media = media
        self._media_in: InputConverter | None = None
        self.lifetime_seconds = lifetime_seconds
        self._explicit_dialect = dialect
        self._default_dialect = default_dialect
        self.dialect: Dialect | None = dialect
        self._pcm16_override = pcm16_input_rate
        self.state = SessionState(
            id=new_id("sess_"),
            model=model,
            voice=caps.default_voice,
            expires_at=int(time.time()) + lifetime_seconds,
            output_modalities=("text", "audio") if "audio" in caps.output_modalities else ("text",),
        )
        self.conversation = Conversation()
        # Open responses by id, in the order they began; output for any other id is late
        # output of a response the core already closed, and is dropped.
        self.responses: dict[str, ActiveResponse] = {}
        self._ids = EventIds()
        self._out: list[s.ServerEvent] = []
        self._buffered_ms = 0.0
        self._audio_ms = 0.0  # all input audio so far: the timeline idle_timeout_ms runs on
        self._idle = IdleTimeout()
        self._reply_started_ms: dict[str, float] = {}
        self._transcripts = InputTranscripts()
        # Commands for the provider that come of its own events (see ``on_event``).
        self._pending: Commands = []
        # The last provider failure reported to the client (not reported twice).
        self._reported: tuple[str, str] | None = None
        self._call_ids = CallIds()
        self._input: InputConverter | None = None
        self._rebuild_converters()
        self.mcp = McpBridge(self)
        self.remote_mcp = RemoteMcp(self)  # the vendor's, when it runs them

    # -- plumbing --------------------------------------------------------------------------

    @property
    def words(self) -> Vocabulary:
        return vocabulary(self.dialect or self._default_dialect)

    @property
    def idle(self) -> bool:
        return not self.responses

    @property
    def response(self) -> ActiveResponse | None:
        """The open response that belongs to the conversation (at most one)."""
        for response in self.responses.values():
            if response.conversation is not None:
                return response
        return None

    def neutral_config(self) -> neutral.SessionConfig:
        return to_neutral(self.state, self.caps, media=self._media is not None)

    def emit(self, event: s.ServerEvent) -> None:
        event.event_id = self._ids.next()
        self._out.append(event)

    def drain(self) -> list[s.ServerEvent]:
        out, self._out = self._out, []
        return out

    def error(self, err: RealtimeError) -> None:
        self.emit(
            s.Error(
                event_id="",
                error=ErrorOut(
                    type=err.type,
                    code=err.code,
                    message=err.message,
                    param=err.param,
                    event_id=err.event_id,
                ),
            )
        )

    def _rebuild_converters(self) -> None:
        cfg = self.neutral_config()
        fmt = self.state.input_format
        self._input = InputConverter(fmt, cfg.input_sample_rate, cfg.input_encoding)
        if self._media is not None:
            self._media_in = InputConverter(MEDIA_FORMAT, cfg.input_sample_rate)

    def _pcm16_rate(self) -> int:
        if self._pcm16_override is not None:
            return self._pcm16_override
        if self._explicit_dialect is None and self.dialect is Dialect.BETA:
            return UNSIGNALLED_BETA_PCM16_RATE
        return OPENAI_PCM16_RATE

    def created(self) -> None:
        """The session is ready: announce it. Before the client's first event the dialect
        may be unknown, so the session object then carries fields valid in both."""
        session = render_session(self.state, self.dialect)
        self.emit(s.SessionCreated(event_id="", session=session))
        # As OpenAI does: the session's one conversation, under the id responses carry.
        conversation = s.ConversationRef(id=conversation_id(self.state))
        self.emit(s.ConversationCreated(event_id="", conversation=conversation))

    # -- client events ---------------------------------------------------------------------

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

    def _configure_since(self, before: neutral.SessionConfig) -> Commands:
        after = self.neutral_config()
        changed = frozenset(
            f for f in after.__struct_fields__ if getattr(before, f) != getattr(after, f)
        )
        return [neutral.Configure(config=after, changed=changed)] if changed else []

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
        if self.dialect is Dialect.BETA and rate != self.state.input_format.sample_rate:
            self.state = with_input_rate(self.state, rate)
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
                item = self.conversation.require(event.item_id)
                self.emit(
                    s.ConversationItemRetrieved(
                        event_id="", item=render_item(item, self.words.dialect)
                    )
                )
                return []
            case c.ConversationItemDelete():
                gone = self.conversation.require(event.item_id)
                self.conversation.delete(event.item_id)
                self._transcripts.drop(event.item_id)
                self.emit(s.ConversationItemDeleted(event_id="", item_id=event.item_id))
                if gone.type.startswith("mcp_") and not gone.remote:
                    # What the model knew of it (a tool list: nothing).
                    return [neutral.DeleteItem(item_id=i.id) for i in gone.for_model()]
                return [neutral.DeleteItem(item_id=event.item_id)]
            case c.ConversationItemTruncate():
                return self._truncate(event)
            case c.OutputAudioBufferClear():
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
            case c.TranscriptionSessionUpdate():
                raise RealtimeError(
                    "unsupported_event",
                    "Transcription-only sessions are not supported by this gateway; use a "
                    "realtime session (its user audio is transcribed too).",
                    param="type",
                )
        raise AssertionError(f"unhandled client event {type(event).__name__}")

    def _append(self, audio: bytes) -> Commands:
        assert self._input is not None
        return self._take_audio(audio, self.state.input_format, self._input)

    def _take_audio(self, audio: bytes, fmt: AudioFormat, converter: InputConverter) -> Commands:
        bytes_per_ms = fmt.sample_rate / 1000 * fmt.bytes_per_sample
        ms = len(audio) / bytes_per_ms
        self._buffered_ms += ms
        self._audio_ms += ms
        pcm = converter.feed(audio)
        commands: Commands = [neutral.AppendAudio(pcm=pcm)] if pcm else []
        return commands + self._idle_timeout()

    def _idle_timeout(self) -> Commands:
        """The user has been silent ``idle_timeout_ms`` since the last reply played out:
        say so, commit the silence as a user item, and answer it (see session/idle.py)."""
        td = self.state.turn_detection
        if td is None or self.response is not None:
            return []
        silent = self._idle.due(self._audio_ms, td.idle_timeout_ms)
        if silent is None:
            return []
        item_id = new_id("item_")
        self.emit(
            s.InputAudioBufferTimeoutTriggered(
                event_id="", audio_start_ms=silent[0], audio_end_ms=silent[1], item_id=item_id
            )
        )
        commands = self._commit_user_audio(item_id)
        self._transcripts.drop(item_id)  # silence: no transcript will come
        response = self._open_response(new_id("resp_"), self.state.output_modalities, None)
        return [*commands, neutral.CreateResponse(response_id=response.id)]

    def _session_update(self, event: c.SessionUpdate) -> Commands:
        if self._explicit_dialect is Dialect.GA and event.session.type is UNSET:
            raise RealtimeError(
                "missing_required_parameter",
                "Missing required parameter: 'session.type'.",
                param="session.type",
            )
        old_formats = (self.state.input_format, self.state.output_format)
        self.state = apply_update(
            self.state,
            event.session,
            dialect=self.words.dialect,
            caps=self.caps,
            pcm16_rate=self._pcm16_rate(),
            mcp=self._mcp_access,
        )
        if (self.state.input_format, self.state.output_format) != old_formats:
            self._rebuild_converters()
        self.emit(
            s.SessionUpdated(event_id="", session=render_session(self.state, self.words.dialect))
        )
        self.mcp.configure(() if self.caps.remote_mcp else self.state.mcp_servers)
        return []

    def mcp_result(self, result: McpResult) -> Commands:
        """An MCP listing or call came back (rtcore.mcp.runner): what the provider must
        hear of it (the tools it is offered, the output, the reply asked for)."""
        before = self.neutral_config()
        commands = self.mcp.result(result)
        commands = [*self._pending, *self.mcp.take_pending(), *commands]
        self._pending = []
        after = self.neutral_config()
        changed = frozenset(
            f for f in after.__struct_fields__ if getattr(before, f) != getattr(after, f)
        )
        if changed:
            commands.insert(0, neutral.Configure(config=after, changed=changed))
        return commands

    def announce_item(self, item: ConvItem, previous: str | None) -> None:
        self._announce_item(item, previous)

    def open_response(self, response_id: str) -> ActiveResponse:
        """A response of the core's own asking (MCP's), with the session's settings."""
        return self._open_response(response_id, self.state.output_modalities, None)

    def _announce_item(self, item: ConvItem, previous: str | None) -> None:
        rendered = render_item(item, self.words.dialect)
        if self.words.dialect is Dialect.GA:
            self.emit(
                s.ConversationItemAdded(event_id="", previous_item_id=previous, item=rendered)
            )
            self.emit(s.ConversationItemDone(event_id="", previous_item_id=previous, item=rendered))
        else:
            self.emit(
                s.ConversationItemCreated(event_id="", previous_item_id=previous, item=rendered)
            )

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
        return [neutral.AddItem(item=self._for_provider(item), previous_item_id=after)]

    def _commit(self) -> Commands:
        if self._buffered_ms < MIN_COMMIT_MS:
            raise RealtimeError(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has "
                f"{self._buffered_ms:.2f}ms of audio.",
            )
        item_id = new_id("item_")
        return [neutral.CommitAudio(item_id=item_id), *self._commit_user_audio(item_id)]

    def _commit_user_audio(self, item_id: str, seconds: float | None = None) -> Commands:
        """The user's audio so far is the user item ``item_id``: announce it to the client
        and the provider. ``seconds``: how long the turn is, when known better than by the
        audio buffered since the last commit (a spoken turn's detected bounds)."""
        item = ConvItem(id=item_id, type="message", role="user", parts=[Part(kind="audio")])
        previous = self.conversation.append(item)
        self.emit(
            s.InputAudioBufferCommitted(event_id="", previous_item_id=previous, item_id=item_id)
        )
        self._announce_item(item, previous)
        self._transcripts.open(item_id, self._buffered_ms / 1000 if seconds is None else seconds)
        self._buffered_ms = 0.0
        after = self.conversation.model_previous(previous)
        return [neutral.AddItem(item=item.to_neutral(), previous_item_id=after, source="audio")]

    def _clear(self) -> Commands:
        assert self._input is not None
        self._input.reset()
        self._buffered_ms = 0.0
        self.emit(s.InputAudioBufferCleared(event_id=""))
        return [neutral.ClearAudio()]

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
            neutral.TruncateItem(
                item_id=item.id,
                audio_end_ms=event.audio_end_ms,
                text=cut,
                streaming_in=streaming.id if streaming is not None else None,
            )
        ]

    def _response_create(self, event: c.ResponseCreate) -> Commands:
        params = None if event.response is UNSET else event.response
        options, modalities, metadata, out_of_band = response_options(params, self.state, self.caps)
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
            neutral.CreateResponse(
                response_id=response.id, options=options, conversation=not out_of_band
            )
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
            neutral.ResponseDone(
                response_id=response.id, status="cancelled", reason="client_cancelled"
            ),
        )
        commands: Commands = [neutral.CancelResponse(response_id=response.id)] if theirs else []
        if any(item.type == "mcp_call" for item in response.items):
            # Its stopped MCP calls, as failed calls, reach the model now: a provider done
            # with the response sends nothing more that would carry them.
            commands += self._pending
            self._pending = []
        return commands

    def _output_converter(self) -> OutputConverter:
        out_fmt = MEDIA_FORMAT if self._media is not None else self.state.output_format
        cfg = self.neutral_config()
        return OutputConverter(cfg.output_sample_rate, out_fmt, cfg.output_encoding)

    def _open_response(
        self,
        response_id: str,
        modalities: tuple[str, ...],
        metadata: dict[str, str] | None,
        *,
        out_of_band: bool = False,
        options: neutral.ResponseOptions = _NO_OVERRIDES,
    ) -> ActiveResponse:
        out_fmt = MEDIA_FORMAT if self._media is not None else self.state.output_format
        out_bytes_per_ms = out_fmt.sample_rate / 1000 * out_fmt.bytes_per_sample
        response = ActiveResponse(
            response_id=response_id,
            modalities=modalities,
            words=self.words,
            emit=self.emit,
            conversation=None if out_of_band else self.conversation,
            item_done=self._output_item_done,
            shell=lambda r: response_shell(r, self.state, self.words.dialect),
            output=self._output_converter(),
            output_bytes_per_ms=out_bytes_per_ms,
            metadata=metadata,
            options=options,
            client_call_id=self._call_ids.for_client,
            media=self._media,
        )
        self.responses[response_id] = response
        self._idle.disarm()
        self._reply_started_ms[response_id] = self._audio_ms
        response.start()
        return response

    def _close_response(self, response: ActiveResponse, done: neutral.ResponseDone) -> None:
        del self.responses[response.id]
        self.mcp.abandon(response, done)
        self.remote_mcp.abandon(response, done)
        played_ms = response.audio_out_ms
        response.finish(done)
        started = self._reply_started_ms.pop(response.id, self._audio_ms)
        if response.conversation is not None and not self.responses:
            self._idle.arm(self._audio_ms, started, played_ms)

    def _for_provider(self, item: ConvItem) -> neutral.Item:
        """An item as the provider knows it: under the provider's own call ids."""
        return self._call_ids.for_provider(item.to_neutral())

    def _output_item_done(self, item: ConvItem) -> None:
        if item.remote:
            return  # the vendor's own
        if item.type.startswith("mcp_"):
            # The model's call (its own output), then the gateway's output for it.
            previous = self.conversation.model_previous(self.conversation.previous_of(item.id))
            for made in item.for_model():
                source: neutral.ItemSource = (
                    "model" if isinstance(made, neutral.FunctionCall) else "client"
                )
                made = self._call_ids.for_provider(made)
                self._pending.append(
                    neutral.AddItem(item=made, previous_item_id=previous, source=source)
                )
                previous = made.id
            return
        # The provider hears of its own output once it is final, under the core's id.
        self._pending.append(
            neutral.AddItem(
                item=self._for_provider(item),
                previous_item_id=self.conversation.model_previous(
                    self.conversation.previous_of(item.id)
                ),
                source="model",
            )
        )

    # -- provider events -------------------------------------------------------------------

    def on_event(self, event: neutral.Event) -> Sequence[neutral.Command]:
        """Handle one provider event; returns what the provider must be told in turn (the
        items its events added to the conversation)."""
        match event:
            case neutral.AudioDelta():
                if (r := self.responses.get(event.response_id)) is not None:
                    r.audio_chunk(event.pcm)
            case neutral.TranscriptDelta():
                if (r := self.responses.get(event.response_id)) is not None:
                    r.transcript(event.text)
            case neutral.TextDelta():
                if (r := self.responses.get(event.response_id)) is not None:
                    r.text(event.text)
            case neutral.ToolCall():
                if (r := self.responses.get(event.response_id)) is not None:
                    if not self.mcp.tool_call(r, event):
                        r.tool_call(event)
                    self._pending += self.mcp.take_pending()
            case neutral.ResponseStarted():
                self._provider_response(event.response_id)
            case neutral.ResponseDone():
                r = self.responses.get(event.response_id)
                if r is not None and not self.mcp.holds(r, event):
                    self.finish_response(r, event)
                    self._pending += self.mcp.continuation()
            case neutral.SpeechStarted():
                self._speech_started(event)
            case neutral.SpeechStopped():
                self._speech_stopped(event)
            case neutral.InputTranscript():
                self._input_transcript(event)
            case neutral.RateLimits():
                self.emit(s.RateLimitsUpdated(event_id="", rate_limits=render_limits(event)))
            case rt.RemoteToolsListed() | rt.RemoteToolCall() | rt.RemoteApprovalRequest():
                self.remote_mcp.on_event(event)
            case neutral.ProviderError():
                # The failure that ended a response was reported with it already.
                if (event.code, event.message) != self._reported:
                    self.error(
                        RealtimeError(
                            event.code, event.message, param=event.param, type="server_error"
                        )
                    )
        if not self._pending:
            return _NO_COMMANDS  # the usual case (every audio delta): nothing allocated
        pending, self._pending = self._pending, []
        return pending

    def finish_response(self, r: ActiveResponse, event: neutral.ResponseDone) -> None:
        self._close_response(r, event)
        for item in r.items:
            self.conversation.measure(item.id)
        self._pending += self._within_bounds()
        if event.error is not None:
            # A client acts on an error event; the status says which response.
            self._reported = (event.error.code, event.error.message)
            self.error(RealtimeError(event.error.code, event.error.message, type="server_error"))

    def _speech_started(self, event: neutral.SpeechStarted) -> None:
        self._idle.disarm()
        self._transcripts.speech_started(event.item_id, event.audio_start_ms)
        # Barge-in: the user speaks over the reply, which stops playing.
        self._pending += self._clear_playback() or []
        self.emit(
            s.SpeechStarted(event_id="", audio_start_ms=event.audio_start_ms, item_id=event.item_id)
        )
        self._interrupt_held()

    def _interrupt_held(self) -> None:
        """The user speaks over a reply the gateway holds open for its MCP calls (its
        provider is done with it): it is cancelled as the provider's own would be, its
        calls stopped."""
        td = self.state.turn_detection
        if td is None or not td.interrupt_response:
            return
        for response_id, done in self.mcp.held_done():
            if (r := self.responses.get(response_id)) is not None:
                cut = msgspec.structs.replace(done, status="cancelled", reason="turn_detected")
                self.finish_response(r, cut)

    def _within_bounds(self) -> Commands:
        """Past its bounds the conversation drops its oldest items (not those of responses
        still streaming): the client is told of each as deleted, and so is the provider."""
        keep = {item.id for r in self.responses.values() for item in r.items}
        removed = self.conversation.over_bounds(keep)
        for item_id in removed:
            self._transcripts.drop(item_id)
            self.emit(s.ConversationItemDeleted(event_id="", item_id=item_id))
        return [neutral.DeleteItem(item_id=item_id) for item_id in removed]

    def _provider_response(self, response_id: str) -> None:
        """The provider started a response on its own (its turn detection)."""
        if response_id not in self.responses:
            self._open_response(response_id, self.state.output_modalities, None)

    def _speech_stopped(self, event: neutral.SpeechStopped) -> None:
        self.emit(
            s.SpeechStopped(event_id="", audio_end_ms=event.audio_end_ms, item_id=event.item_id)
        )
        seconds = self._transcripts.spoken_seconds(event.item_id, event.audio_end_ms)
        if event.item_id not in self.conversation:
            self._pending += self._commit_user_audio(event.item_id, seconds)

    def _input_transcript(self, event: neutral.InputTranscript) -> None:
        item_id = event.item_id
        if item_id not in self._transcripts:
            if item_id in self.conversation:
                return  # already final, or the client deleted the item
            # A provider that reports a transcript without announcing the turn.
            self._pending += self._commit_user_audio(item_id)
        # The model hears the transcript either way; the client is told of it only when
        # it asked for transcription, as OpenAI's server does.
        told = self.state.transcription_model is not None
        if event.text:
            self._transcripts.add(item_id, event.text)
            if told:
                self.emit(s.TranscriptionDelta(event_id="", item_id=item_id, delta=event.text))
        if event.final:
            done = self._transcripts.close(item_id)
            item = self.conversation.get(item_id)
            if item is not None and item.parts:
                item.parts[0].transcript = done.text
                self.conversation.measure(item_id)
                self._pending.append(neutral.UpdateItem(item=item.to_neutral()))
            if told:
                self.emit(transcript_outcome(item_id, done, event.error))
