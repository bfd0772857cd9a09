"""The session machine's part for provider events: output routed to its open response by
id (output for any other id is late output of a response already closed, and dropped), the
provider's turn detection and input transcripts made user items, and what the provider must
be told in turn. Mixed into ``RealtimeSession``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec

from rtcore.protocol import server as s
from rtcore.protocol.errors import RealtimeError
from rtcore.provider import messages as n
from rtcore.provider import remote_tools as rt
from rtcore.session.conversation import Conversation
from rtcore.session.idle import IdleTimeout
from rtcore.session.render import render_limits
from rtcore.session.responses import ActiveResponse
from rtcore.session.settings import SessionState
from rtcore.session.transcripts import InputTranscripts, transcript_outcome

if TYPE_CHECKING:
    from rtcore.session.mcp_bridge import McpBridge
    from rtcore.session.remote_mcp import RemoteMcp

Commands = list[n.Command]
_NO_COMMANDS: tuple[n.Command, ...] = ()


class ProviderEvents:
    """Mixed into ``RealtimeSession``: the attributes below are the session's."""

    settings: SessionState
    conversation: Conversation
    responses: dict[str, ActiveResponse]
    _idle: IdleTimeout
    _transcripts: InputTranscripts
    _pending: Commands
    # The last provider failure reported to the client (not reported twice).
    _reported: tuple[str, str] | None

    if TYPE_CHECKING:
        mcp: McpBridge
        remote_mcp: RemoteMcp

        def emit(self, event: s.ServerEvent) -> None: ...

        def error(self, err: RealtimeError) -> None: ...

        def finish_response(self, r: ActiveResponse, event: n.ResponseDone) -> None: ...

        def _open_response(
            self,
            response_id: str,
            modalities: tuple[str, ...],
            metadata: dict[str, str] | None,
            *,
            out_of_band: bool = False,
            options: n.ResponseOptions = ...,
        ) -> ActiveResponse: ...

        def _commit_user_audio(self, item_id: str, seconds: float | None = None) -> Commands: ...

        def _clear_playback(self) -> Commands | None: ...

    def on_event(self, event: n.Event) -> Sequence[n.Command]:
        """Handle one provider event; returns what the provider must be told in turn (the
        items its events added to the conversation)."""
        match event:
            case n.AudioDelta():
                if (r := self.responses.get(event.response_id)) is not None:
                    r.audio_chunk(event.pcm)
            case n.TranscriptDelta():
                if (r := self.responses.get(event.response_id)) is not None:
                    r.transcript(event.text)
            case n.TextDelta():
                if (r := self.responses.get(event.response_id)) is not None:
                    r.text(event.text)
            case n.ToolCall():
                if (r := self.responses.get(event.response_id)) is not None:
                    if not self.mcp.tool_call(r, event):
                        r.tool_call(event)
                    self._pending += self.mcp.take_pending()
            case n.ResponseStarted():
                self._provider_response(event.response_id)
            case n.ResponseDone():
                r = self.responses.get(event.response_id)
                if r is not None and not self.mcp.holds(r, event):
                    self.finish_response(r, event)
                    self._pending += self.mcp.continuation()
            case n.SpeechStarted():
                self._speech_started(event)
            case n.SpeechStopped():
                self._speech_stopped(event)
            case n.InputTranscript():
                self._input_transcript(event)
            case n.RateLimits():
                self.emit(s.RateLimitsUpdated(event_id="", rate_limits=render_limits(event)))
            case rt.RemoteToolsListed() | rt.RemoteToolCall() | rt.RemoteApprovalRequest():
                self.remote_mcp.on_event(event)
            case n.ProviderError():
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

    def _speech_started(self, event: n.SpeechStarted) -> None:
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
        td = self.settings.turn_detection
        if td is None or not td.interrupt_response:
            return
        for response_id, done in self.mcp.held_done():
            if (r := self.responses.get(response_id)) is not None:
                cut = msgspec.structs.replace(done, status="cancelled", reason="turn_detected")
                self.finish_response(r, cut)

    def _provider_response(self, response_id: str) -> None:
        """The provider started a response on its own (its turn detection)."""
        if response_id not in self.responses:
            self._open_response(response_id, self.settings.output_modalities, None)

    def _speech_stopped(self, event: n.SpeechStopped) -> None:
        self.emit(
            s.SpeechStopped(event_id="", audio_end_ms=event.audio_end_ms, item_id=event.item_id)
        )
        seconds = self._transcripts.spoken_seconds(event.item_id, event.audio_end_ms)
        if event.item_id not in self.conversation:
            self._pending += self._commit_user_audio(event.item_id, seconds)

    def _input_transcript(self, event: n.InputTranscript) -> None:
        item_id = event.item_id
        if item_id not in self._transcripts:
            if item_id in self.conversation:
                return  # already final, or the client deleted the item
            # A provider that reports a transcript without announcing the turn.
            self._pending += self._commit_user_audio(item_id)
        # The model hears the transcript either way; the client is told of it only when
        # it asked for transcription, as OpenAI's server does.
        told = self.settings.transcription_model is not None
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
                self._pending.append(n.UpdateItem(item=item.to_neutral()))
            if told:
                self.emit(transcript_outcome(item_id, done, event.error))
