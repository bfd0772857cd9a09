"""The session state machine: client events in, provider commands and server events out.

It does no I/O (as in ``websockets``' protocol layer): ``handle`` and ``on_event`` return the
commands for the provider and queue server events, which ``drain`` hands to the connection.
Client mistakes raise ``RealtimeError``; the connection turns that into an ``error`` event.
"""

from __future__ import annotations

import time

from rtcore.audio import InputConverter
from rtcore.dialect import Dialect
from rtcore.ids import new_id
from rtcore.mcp.jobs import Result as McpResult
from rtcore.mcp.spec import McpAccess
from rtcore.protocol import server as s
from rtcore.protocol.errors import RealtimeError
from rtcore.protocol.objects import ErrorOut
from rtcore.provider import Capabilities
from rtcore.provider import messages as n
from rtcore.session.call_ids import CallIds
from rtcore.session.client_events import ClientEvents
from rtcore.session.conversation import Conversation, ConvItem
from rtcore.session.dialect_events import Vocabulary, vocabulary
from rtcore.session.handover import SessionHandover
from rtcore.session.idle import IdleTimeout
from rtcore.session.ids import EventIds
from rtcore.session.input_buffer import InputBuffer
from rtcore.session.mcp_bridge import McpBridge
from rtcore.session.media import MediaSink, media_format
from rtcore.session.media_playback import MediaPlayback
from rtcore.session.provider_events import ProviderEvents
from rtcore.session.remote_mcp import RemoteMcp
from rtcore.session.render import render_item, render_session
from rtcore.session.response_lifecycle import ResponseLifecycle
from rtcore.session.response_params import conversation_id
from rtcore.session.responses import ActiveResponse
from rtcore.session.settings import SessionState, to_neutral
from rtcore.session.transcripts import InputTranscripts

SESSION_LIFETIME_S = 60 * 60
# The seed's programs and LiteLLM's users send 16 kHz audio labelled "pcm16" without any
# dialect signal; OpenAI's own clients (which signal the dialect) send 24 kHz.
UNSIGNALLED_BETA_PCM16_RATE = 16000
OPENAI_PCM16_RATE = 24000

Commands = list[n.Command]


class RealtimeSession(
    ClientEvents, ProviderEvents, InputBuffer, ResponseLifecycle, MediaPlayback, SessionHandover
):
    """One session: its settings, conversation and open responses, and the event ids of
    what it says. Each concern is a mixin of its own module (client events, provider
    events, the input audio buffer, the response lifecycle, WebRTC playback, failover)."""

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
        # WebRTC: audio in and out at the sink's rate through the transport, whatever
        # formats the client names (OpenAI ignores them on WebRTC too).
        self._media = media
        self._media_in: InputConverter | None = None
        self.lifetime_seconds = lifetime_seconds
        self._explicit_dialect = dialect
        self._default_dialect = default_dialect
        self.dialect: Dialect | None = dialect
        self._pcm16_override = pcm16_input_rate
        self.settings = SessionState(
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
    def vocabulary(self) -> Vocabulary:
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

    def neutral_config(self) -> n.SessionConfig:
        return to_neutral(self.settings, self.caps, media=self._media is not None)

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
        fmt = self.settings.input_format
        self._input = InputConverter(fmt, cfg.input_sample_rate, cfg.input_encoding)
        if self._media is not None:
            self._media_in = InputConverter(media_format(self._media), cfg.input_sample_rate)

    def _pcm16_rate(self) -> int:
        if self._pcm16_override is not None:
            return self._pcm16_override
        if self._explicit_dialect is None and self.dialect is Dialect.BETA:
            return UNSIGNALLED_BETA_PCM16_RATE
        return OPENAI_PCM16_RATE

    def created(self) -> None:
        """The session is ready: announce it. Before the client's first event the dialect
        may be unknown, so the session object then carries fields valid in both."""
        session = render_session(self.settings, self.dialect)
        self.emit(s.SessionCreated(event_id="", session=session))
        # As OpenAI does: the session's one conversation, under the id responses carry.
        conversation = s.ConversationRef(id=conversation_id(self.settings))
        self.emit(s.ConversationCreated(event_id="", conversation=conversation))

    # -- items ------------------------------------------------------------------------------

    def mcp_result(self, result: McpResult) -> Commands:
        """An MCP listing or call came back (rtcore.mcp.runner): what the provider must
        hear of it (the tools it is offered, the output, the reply asked for)."""
        before = self.neutral_config()
        commands = self.mcp.result(result)
        commands = [*self._pending, *self.mcp.take_pending(), *commands]
        self._pending = []
        return [*self._configure_since(before), *commands]

    def announce_item(self, item: ConvItem, previous: str | None) -> None:
        self._announce_item(item, previous)

    def _announce_item(self, item: ConvItem, previous: str | None) -> None:
        rendered = render_item(item, self.vocabulary.dialect)
        if self.vocabulary.dialect is Dialect.GA:
            self.emit(
                s.ConversationItemAdded(event_id="", previous_item_id=previous, item=rendered)
            )
            self.emit(s.ConversationItemDone(event_id="", previous_item_id=previous, item=rendered))
        else:
            self.emit(
                s.ConversationItemCreated(event_id="", previous_item_id=previous, item=rendered)
            )

    def _within_bounds(self) -> Commands:
        """Past its bounds the conversation drops its oldest items (not those of responses
        still streaming): the client is told of each as deleted, and so is the provider."""
        keep = {item.id for r in self.responses.values() for item in r.items}
        removed = self.conversation.over_bounds(keep)
        for item_id in removed:
            self._transcripts.drop(item_id)
            self.emit(s.ConversationItemDeleted(event_id="", item_id=item_id))
        return [n.DeleteItem(item_id=item_id) for item_id in removed]
