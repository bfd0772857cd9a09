"""The session machine's response lifecycle: a response opened (at the session's output
format, on the conversation or out of band), its finished items passed to the provider under
the provider's call ids, and the response closed (its MCP calls abandoned, the idle timer
armed once the reply has played). Mixed into ``RealtimeSession``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rtcore.audio import OutputConverter
from rtcore.protocol import server as s
from rtcore.protocol.errors import RealtimeError
from rtcore.provider import messages as n
from rtcore.session.call_ids import CallIds
from rtcore.session.conversation import Conversation, ConvItem
from rtcore.session.dialect_events import Vocabulary
from rtcore.session.idle import IdleTimeout
from rtcore.session.media import MediaSink, media_format
from rtcore.session.response_params import response_shell
from rtcore.session.responses import ActiveResponse
from rtcore.session.settings import SessionState

if TYPE_CHECKING:
    from rtcore.session.mcp_bridge import McpBridge
    from rtcore.session.remote_mcp import RemoteMcp

Commands = list[n.Command]
_NO_OVERRIDES = n.ResponseOptions()


class ResponseLifecycle:
    """Mixed into ``RealtimeSession``: the attributes below are the session's."""

    settings: SessionState
    conversation: Conversation
    responses: dict[str, ActiveResponse]
    _media: MediaSink | None
    _call_ids: CallIds
    _idle: IdleTimeout
    _audio_ms: float
    _reply_started_ms: dict[str, float]
    _pending: Commands
    # The last provider failure reported to the client (not reported twice).
    _reported: tuple[str, str] | None

    if TYPE_CHECKING:
        mcp: McpBridge
        remote_mcp: RemoteMcp

        @property
        def vocabulary(self) -> Vocabulary: ...

        def neutral_config(self) -> n.SessionConfig: ...

        def emit(self, event: s.ServerEvent) -> None: ...

        def error(self, err: RealtimeError) -> None: ...

        def _within_bounds(self) -> Commands: ...

    def open_response(self, response_id: str) -> ActiveResponse:
        """A response of the core's own asking (MCP's), with the session's settings."""
        return self._open_response(response_id, self.settings.output_modalities, None)

    def _output_converter(self) -> OutputConverter:
        out_fmt = (
            media_format(self._media) if self._media is not None else self.settings.output_format
        )
        cfg = self.neutral_config()
        return OutputConverter(cfg.output_sample_rate, out_fmt, cfg.output_encoding)

    def _open_response(
        self,
        response_id: str,
        modalities: tuple[str, ...],
        metadata: dict[str, str] | None,
        *,
        out_of_band: bool = False,
        options: n.ResponseOptions = _NO_OVERRIDES,
    ) -> ActiveResponse:
        out_fmt = (
            media_format(self._media) if self._media is not None else self.settings.output_format
        )
        out_bytes_per_ms = out_fmt.sample_rate / 1000 * out_fmt.bytes_per_sample
        response = ActiveResponse(
            response_id=response_id,
            modalities=modalities,
            vocabulary=self.vocabulary,
            emit=self.emit,
            conversation=None if out_of_band else self.conversation,
            item_done=self._output_item_done,
            shell=lambda r: response_shell(r, self.settings, self.vocabulary.dialect),
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

    def _close_response(self, response: ActiveResponse, done: n.ResponseDone) -> None:
        del self.responses[response.id]
        self.mcp.abandon(response, done)
        self.remote_mcp.abandon(response, done)
        played_ms = response.audio_out_ms
        response.finish(done)
        started = self._reply_started_ms.pop(response.id, self._audio_ms)
        if response.conversation is not None and not self.responses:
            self._idle.arm(self._audio_ms, started, played_ms)

    def finish_response(self, r: ActiveResponse, event: n.ResponseDone) -> None:
        self._close_response(r, event)
        for item in r.items:
            self.conversation.measure(item.id)
        self._pending += self._within_bounds()
        if event.error is not None:
            # A client acts on an error event; the status says which response.
            self._reported = (event.error.code, event.error.message)
            self.error(RealtimeError(event.error.code, event.error.message, type="server_error"))

    def _for_provider(self, item: ConvItem) -> n.Item:
        """An item as the provider knows it: under the provider's own call ids."""
        return self._call_ids.for_provider(item.to_neutral())

    def _output_item_done(self, item: ConvItem) -> None:
        if item.remote:
            return  # the vendor's own
        if item.type.startswith("mcp_"):
            # The model's call (its own output), then the gateway's output for it.
            previous = self.conversation.model_previous(self.conversation.previous_of(item.id))
            for made in item.for_model():
                source: n.ItemSource = "model" if isinstance(made, n.FunctionCall) else "client"
                made = self._call_ids.for_provider(made)
                self._pending.append(n.AddItem(item=made, previous_item_id=previous, source=source))
                previous = made.id
            return
        # The provider hears of its own output once it is final, under the core's id.
        self._pending.append(
            n.AddItem(
                item=self._for_provider(item),
                previous_item_id=self.conversation.model_previous(
                    self.conversation.previous_of(item.id)
                ),
                source="model",
            )
        )
