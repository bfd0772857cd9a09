"""One response: turning a provider's output into OpenAI's ordered server events.

Order per item: output_item.added, conversation.item.added/created, content_part.added,
deltas, the part's done events, content_part.done, conversation.item.done (GA),
output_item.done; then response.done once every item is closed.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from rtcore.audio import OutputConverter
from rtcore.dialect import Dialect
from rtcore.ids import new_id
from rtcore.protocol import server as s
from rtcore.protocol.objects import (
    CachedTokenDetails,
    InputTokenDetails,
    OutputTokenDetails,
    ResponseOut,
    StatusDetailsOut,
    StatusErrorOut,
    UsageOut,
)
from rtcore.provider import messages as n
from rtcore.session.conversation import Conversation, ConvItem, Part
from rtcore.session.dialect_events import Vocabulary
from rtcore.session.media import MediaSink
from rtcore.session.render import content_part, render_item

Emit = Callable[[s.ServerEvent], None]
_NO_OVERRIDES = n.ResponseOptions()


class ActiveResponse:
    """A response from response.created to response.done.

    ``emit`` sends a server event (the session fills in event ids); ``client_call_id``
    gives the id a function call has for the client (a provider's may be too long for
    OpenAI's clients). ``conversation`` is where its output items go, or None for an
    out-of-band response, whose items are never announced as conversation items.
    ``item_done`` is told of each output item that closed in the conversation (so the
    provider can be told of it); ``shell`` renders the response object with the dialect's
    fields; ``output`` converts its audio for the client.
    """

    def __init__(
        self,
        *,
        response_id: str,
        modalities: tuple[str, ...],
        vocabulary: Vocabulary,
        emit: Emit,
        conversation: Conversation | None,
        item_done: Callable[[ConvItem], None],
        shell: Callable[[ActiveResponse], ResponseOut],
        output: OutputConverter,
        output_bytes_per_ms: float,
        metadata: dict[str, str] | None = None,
        options: n.ResponseOptions = _NO_OVERRIDES,
        client_call_id: Callable[[str], str] = lambda call_id: call_id,
        media: MediaSink | None = None,
    ) -> None:
        self.id = response_id
        # Out-of-band audio (WebRTC): the reply goes to the transport, not into events.
        self._media = media
        self._media_started = False
        self.modalities = modalities
        self.vocabulary = vocabulary
        self.metadata = metadata
        self.options = options
        self.conversation = conversation
        self._emit = emit
        self._item_done = item_done
        self._client_call_id = client_call_id
        self._shell = shell
        self._output = output
        self._bytes_per_ms = output_bytes_per_ms
        self.items: list[ConvItem] = []
        self._previous: dict[str, str | None] = {}
        self._message: ConvItem | None = None
        self._part: Part | None = None
        self._audio_bytes = 0
        # The client truncated the streaming message: the rest of its output is not sent.
        self._muted = False
        self.status = "in_progress"
        self.status_details: StatusDetailsOut | None = None
        self.usage: UsageOut | None = None

    @property
    def audio(self) -> bool:
        return "audio" in self.modalities

    def _ev(self, cls: type[s.ServerEvent], **fields: object) -> None:
        self._emit(cls(event_id="", **fields))

    def start(self) -> None:
        self._ev(s.ResponseCreated, response=self._shell(self))

    def reroute(self, output: OutputConverter) -> None:
        """The response is asked of another upstream (a failover before any of it went
        out): its audio arrives at that upstream's rate."""
        self._output = output

    def said(self) -> str:
        """What the model said in this response so far: its text, or its audio's
        transcript."""
        return "".join(
            part.text or part.transcript or ""
            for item in self.items
            if item.type == "message"
            for part in item.parts
        )

    @property
    def audio_out_ms(self) -> float:
        """How long the audio sent so far plays."""
        return self._audio_bytes / self._bytes_per_ms if self._bytes_per_ms else 0.0

    # -- items -----------------------------------------------------------------------------

    def _open_item(self, item: ConvItem) -> int:
        index = len(self.items)
        self.items.append(item)
        rendered = render_item(item, self.vocabulary.dialect)
        self._ev(s.OutputItemAdded, response_id=self.id, output_index=index, item=rendered)
        if self.conversation is not None:
            previous = self.conversation.append(item)
            self._previous[item.id] = previous
            added = (
                s.ConversationItemAdded
                if self.vocabulary.dialect is Dialect.GA
                else s.ConversationItemCreated
            )
            self._ev(added, previous_item_id=previous, item=rendered)
        return index

    def _close_item(self, item: ConvItem, status: str) -> None:
        item.status = status
        index = self.items.index(item)
        rendered = render_item(item, self.vocabulary.dialect)
        in_conversation = self.conversation is not None and item.id in self.conversation
        if in_conversation and self.vocabulary.dialect is Dialect.GA:
            self._ev(
                s.ConversationItemDone, previous_item_id=self._previous.get(item.id), item=rendered
            )
        self._ev(s.OutputItemDone, response_id=self.id, output_index=index, item=rendered)
        if in_conversation:
            self._item_done(item)

    def _ensure_part(self, kind: str) -> tuple[ConvItem, Part]:
        if self._message is None:
            self._message = ConvItem(
                id=new_id("item_"), type="message", role="assistant", status="in_progress"
            )
            self._open_item(self._message)
        msg = self._message
        if self._part is None or self._part.kind != kind:
            self._close_part()
            part = (
                Part(kind="audio", transcript="") if kind == "audio" else Part(kind="text", text="")
            )
            msg.parts.append(part)
            self._part = part
            self._ev(
                s.ContentPartAdded,
                response_id=self.id,
                item_id=msg.id,
                output_index=self.items.index(msg),
                content_index=len(msg.parts) - 1,
                part=content_part(part),
            )
        return msg, self._part

    def _ids(self, msg: ConvItem) -> dict[str, object]:
        return {
            "response_id": self.id,
            "item_id": msg.id,
            "output_index": self.items.index(msg),
            "content_index": len(msg.parts) - 1,
        }

    def _close_part(self) -> None:
        part, msg = self._part, self._message
        if part is None or msg is None:
            return
        ids = self._ids(msg)
        if part.kind == "text":
            self._ev(self.vocabulary.text_done, text=part.text or "", **ids)
        else:
            self._ev(self.vocabulary.audio_done, **ids)
            self._ev(self.vocabulary.transcript_done, transcript=part.transcript or "", **ids)
        self._ev(s.ContentPartDone, part=content_part(part), **ids)
        self._part = None

    def _close_message(self, status: str) -> None:
        if self._message is None:
            return
        if not self._muted:
            tail = self._output.flush()
            if tail and self.audio:
                self._audio(tail)
        self._close_part()
        self._close_item(self._message, status)
        self._message = None
        self._muted = False
        self._audio_bytes = 0

    def truncate(self, item: ConvItem) -> bool:
        """The client truncated ``item``; True when it is this response's streaming message,
        whose further output is then dropped."""
        if item is not self._message:
            return False
        self._muted = True
        self._output.reset()
        return True

    # -- provider output -------------------------------------------------------------------

    def text(self, text: str) -> None:
        if self._muted:
            return
        msg, part = self._ensure_part("text")
        part.text = (part.text or "") + text
        self._ev(self.vocabulary.text_delta, delta=text, **self._ids(msg))

    def transcript(self, text: str) -> None:
        if not self.audio:
            # A text-only response never carries audio; its words are the text.
            self.text(text)
            return
        if self._muted:
            return
        msg, part = self._ensure_part("audio")
        part.transcript = (part.transcript or "") + text
        self._ev(self.vocabulary.transcript_delta, delta=text, **self._ids(msg))

    def audio_chunk(self, pcm: bytes) -> None:
        """Provider PCM, converted here for the client."""
        if not self.audio or self._muted or not pcm:
            return
        data = self._output.feed(pcm)
        if data:
            self._audio(data)

    def _audio(self, data: bytes) -> None:
        msg, _ = self._ensure_part("audio")
        self._audio_bytes += len(data)
        # Kept current while it streams: a client may truncate what it has played so far.
        msg.audio_ms = int(self._audio_bytes / self._bytes_per_ms) if self._bytes_per_ms else 0
        if self._media is not None:
            if not self._media_started:
                self._media_started = True
                self._emit(s.OutputAudioBufferStarted(event_id="", response_id=self.id))
            self._media.play(self.id, msg.id, data)
            return
        self._ev(self.vocabulary.audio_delta, delta=data, **self._ids(msg))

    def open_item(self, item: ConvItem) -> int:
        """Another kind of output item (MCP's): after the message so far; its index."""
        self._close_message("incomplete" if self._muted else "completed")
        return self._open_item(item)

    def close_item(self, item: ConvItem, status: str) -> None:
        self._close_item(item, status)

    def tool_call(self, call: n.ToolCall) -> ConvItem:
        self._close_message("incomplete" if self._muted else "completed")
        call_id = self._client_call_id(call.call_id)
        item = ConvItem(
            id=new_id("item_"),
            type="function_call",
            status="in_progress",
            call_id=call_id,
            name=call.name,
            arguments="",
        )
        index = self._open_item(item)
        item.arguments = call.arguments
        common = {
            "response_id": self.id,
            "item_id": item.id,
            "output_index": index,
            "call_id": call_id,
        }
        self._ev(s.FunctionCallArgumentsDelta, delta=call.arguments, **common)
        self._ev(s.FunctionCallArgumentsDone, name=call.name, arguments=call.arguments, **common)
        self._close_item(item, "completed")
        return item

    def finish(self, done: n.ResponseDone) -> None:
        item_status = "completed" if done.status == "completed" else "incomplete"
        if self._muted:
            item_status = "incomplete"
        self._close_message(item_status)
        self.status = done.status
        if done.status != "completed" or done.reason:
            error = done.error
            self.status_details = StatusDetailsOut(
                type=done.status,
                reason=done.reason or msgspec.UNSET,
                error=msgspec.UNSET
                if error is None
                else StatusErrorOut(type="server_error", code=error.code, message=error.message),
            )
        self.usage = usage_out(done.usage)
        if self._media is not None and self._media_started:
            self._media.finish(self.id)
        self._ev(s.ResponseDone, response=self._shell(self))


def usage_out(u: n.Usage) -> UsageOut:
    return UsageOut(
        total_tokens=u.input_tokens + u.output_tokens,
        input_tokens=u.input_tokens,
        output_tokens=u.output_tokens,
        input_token_details=InputTokenDetails(
            text_tokens=u.input_text_tokens,
            audio_tokens=u.input_audio_tokens,
            cached_tokens=u.cached_tokens,
            cached_tokens_details=CachedTokenDetails(
                text_tokens=u.cached_tokens - u.cached_audio_tokens,
                audio_tokens=u.cached_audio_tokens,
            ),
        ),
        output_token_details=OutputTokenDetails(
            text_tokens=u.output_text_tokens, audio_tokens=u.output_audio_tokens
        ),
    )
