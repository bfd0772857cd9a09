"""Nova Sonic output events -> neutral events (no I/O).

Nova has no response object: a response is the run of ASSISTANT/TOOL content between two
user turns. This state machine draws those boundaries, so that every response the core
sees ends with exactly one ``ResponseDone``:

- A USER text block is the transcript of the user's speech: its start is the speech start,
  and the first assistant block after it closes the user turn (speech stopped, transcript).
- Assistant text comes twice: SPECULATIVE (planned, before its audio) and FINAL (what was
  actually spoken, after the audio). Both text and the audio transcript use SPECULATIVE, so
  the transcript streams with the audio (clients caption it and truncate it as they play);
  FINAL is the fallback when no SPECULATIVE text came. What the user heard of a reply they
  spoke over is what the client's truncation keeps.
- Barge-in arrives as the text ``{ "interrupted" : true }`` or a stop reason INTERRUPTED:
  it becomes SpeechStarted + ResponseDone(cancelled, "turn_detected") and is never
  passed on as text. The rest of the interrupted output is dropped.
- Identity: responses are the kit's ``ResponseLedger``'s (the core's ids for requested ones,
  a new announced id when Nova answers speech on its own); a spoken user turn gets its item
  id when Nova shows it heard it. A cancelled response's completion is Nova's to finish: its
  output is dropped until its ``completionEnd``, so it never leaks into the next response.
- Usage events carry deltas; they are summed into the response they belong to. A response
  that ended on END_TURN waits for the next usage event (or ``flush()``) before its
  ``ResponseDone`` goes out, because Nova reports the turn's usage just after it.
"""

from __future__ import annotations

import msgspec

from rtcore.kit import LedgerResponse, ResponseLedger, new_item_id
from rtcore.provider.messages import (
    AudioDelta,
    CreateResponse,
    Event,
    InputTranscript,
    Modality,
    ResponseDone,
    ResponseError,
    ResponseStatus,
    SpeechStarted,
    SpeechStopped,
    TextDelta,
    ToolCall,
    TranscriptDelta,
)
from rtcore_bedrock_sonic import events as ev
from rtcore_bedrock_sonic.content import is_interrupt_marker, is_speculative, normalize_arguments
from rtcore_bedrock_sonic.usage import UsageMeter


class _Block(msgspec.Struct, kw_only=True):
    type: str
    role: str
    speculative: bool


class Inbound:
    """Feed decoded output events, get neutral events back.

    ``audio_ms`` / ``onset_ms`` passed to ``feed`` are the session's position in the user's
    input audio and its estimate of when the current utterance began.
    """

    def __init__(self, modalities: tuple[Modality, ...] = ("audio",)) -> None:
        self.modalities = modalities
        self.ledger = ResponseLedger()
        self.response_active = False
        self.requested = False
        self.discard = False
        self.done_pending: tuple[ResponseStatus, str | None] | None = None
        self.suppress_next_user_turn = False
        self._user_open = False
        self._user_suppressed = False
        self._user_speech_announced = False
        self._user_text: list[str] = []
        self._user_item = ""
        # Nova's output for the active response has begun (speech over it is a barge-in).
        self._answering = False
        # The user's speech was announced from the audio, not yet by Nova (v1).
        self._unconfirmed = False
        # The item a client's commit made of the audio Nova is about to answer: the spoken
        # turn Nova reports next is that item, not a new one.
        self.committed_item: str | None = None
        # Turn detection is the client's (push-to-talk): Nova's own turn-taking is not
        # reported as speech events, only the transcripts of the committed items.
        self.manual_turns = False
        self._spec_emitted = False
        self._blocks: dict[str, _Block] = {}
        self._usage = UsageMeter()
        self.open_tool_calls: dict[str, ToolCall] = {}

    @property
    def text_only(self) -> bool:
        return "audio" not in self.modalities

    @property
    def user_turn_open(self) -> bool:
        return self._user_open

    # -- commands from the session ----------------------------------------------------------

    @property
    def response_id(self) -> str:
        active = self.ledger.active
        return active.id if active is not None else ""

    def begin_requested(
        self, create: CreateResponse, modalities: tuple[Modality, ...]
    ) -> list[Event]:
        """The core created a response (``CreateResponse``). It is active at once unless
        Nova is still answering on its own; then it waits for that answer's end."""
        out = self.flush()
        response = self.ledger.request(create, modalities)
        if self.ledger.active is response:
            self._activate(response)
        return out

    def _activate(self, response: LedgerResponse) -> None:
        self.modalities = response.modalities
        self.response_active = True
        self.requested = True
        self._spec_emitted = False

    def cancel(self, response_id: str, reason: str = "client_cancelled") -> list[Event]:
        out = self.flush()
        if self.response_active and self.response_id == response_id:
            out.append(self._finish("cancelled", reason))
            self.discard = True
        elif (done := self.ledger.cancel(response_id)) is not None:
            out.append(done)  # it was still waiting for its turn
        return out

    def close(self) -> list[Event]:
        """The session closes: every open response ends, cancelled."""
        out = self.flush()
        if self.response_active:
            out.append(self._finish("cancelled", None))
        return out + self.ledger.fail_all("cancelled")

    def fail(self, error: ResponseError | None = None) -> list[Event]:
        """The upstream stream broke (``error`` says how): close what is open so the core
        is never left waiting for a ResponseDone that cannot come."""
        out = self.flush()
        if self.response_active:
            out.append(self._finish("failed", None, error))
        out += self.ledger.fail_all("failed", error=error)
        self._blocks.clear()
        self._user_open = False
        self._user_text.clear()
        self.open_tool_calls.clear()
        return out

    def new_stream(self) -> None:
        """A fresh stream replaced the live one: a cancelled reply the old one was still
        generating is gone with it, and so are its content blocks."""
        self.discard = False
        self._blocks.clear()

    def flush(self) -> list[Event]:
        if self.done_pending is None:
            return []
        status, reason = self.done_pending
        return [self._finish(status, reason)]

    # -- output from Nova -------------------------------------------------------------------

    def feed(self, event: ev.OutputEvent, *, audio_ms: int = 0, onset_ms: int = 0) -> list[Event]:
        out: list[Event] = []
        if (u := event.usage_event) is not None:
            self._usage.add(u)
            return self.flush()
        if event.user_speech_start is not None:
            return self._user_speech_start(onset_ms)
        if (cs := event.content_start) is not None:
            return self._content_start(cs, out, audio_ms, onset_ms)
        if (t := event.text_output) is not None:
            return self._text(t, out, onset_ms)
        if (a := event.audio_output) is not None:
            if self._emitting(a.content_id) and not self.text_only:
                out.append(AudioDelta(response_id=self.response_id, pcm=a.content))
            return out
        if (tu := event.tool_use) is not None:
            if self._emitting(tu.content_id):
                call = ToolCall(
                    response_id=self.response_id,
                    call_id=tu.tool_use_id,
                    name=tu.tool_name,
                    arguments=normalize_arguments(tu.content),
                )
                self.open_tool_calls[call.call_id] = call
                out.append(call)
            return out
        if (ce := event.content_end) is not None:
            return self._content_end(ce, out, onset_ms)
        if event.completion_end is not None:
            out += self.flush()
            out += self._close_user_turn(audio_ms)
            # A response asked for and not yet answered was created after the completion
            # that ends here (a response.create right after response.done, before Nova's
            # completionEnd): that end is not its own.
            waiting = self.requested and not self._answering
            if self.response_active and not self.discard and not waiting:
                out.append(self._finish("completed", None))
            # Nova finished the completion of a cancelled response: what follows is new.
            self.discard = False
            return out
        return out

    def _emitting(self, content_id: str) -> bool:
        block = self._blocks.get(content_id)
        return self.response_active and not self.discard and block is not None

    def _content_start(
        self, cs: ev.OutContentStart, out: list[Event], audio_ms: int, onset_ms: int
    ) -> list[Event]:
        speculative = is_speculative(cs.additional_model_fields)
        role = cs.role.upper()
        self._blocks[cs.content_id] = _Block(type=cs.type, role=role, speculative=speculative)
        if role == "USER":
            out += self.flush()
            if not self._user_open:
                self._user_open = True
                self._unconfirmed = False
                self._user_text.clear()
                self._user_suppressed = self.suppress_next_user_turn
                self.suppress_next_user_turn = False
                if not self._user_suppressed and not self._user_speech_announced:
                    out += self._speech_started(min(onset_ms, audio_ms))
            if not self.requested:
                self.discard = False
            return out
        # An assistant FINAL text block may still follow an END_TURN audio block.
        if self.done_pending is not None and not (cs.type == "TEXT" and not speculative):
            out += self.flush()
        if self.discard:
            return out  # trailing output of a cancelled response
        if not self._unconfirmed:
            # (Speech announced from the audio waits for Nova's verdict: its USER turn,
            # a barge-in, or silence long enough to call it noise.)
            out += self._close_user_turn(audio_ms, allow_empty=True)
        self.suppress_next_user_turn = False
        if not self.response_active:
            self.response_active = True
            self._spec_emitted = False
            out.append(self.ledger.start_own(self.modalities))
        self.requested = False
        self._answering = True
        return out

    def _user_speech_start(self, onset_ms: int) -> list[Event]:
        """Nova 2 heard speech begin, as it happens (its USER transcript comes only after
        the end-of-turn pause): announce it now, so clients can stop playback. Over a reply
        it is a barge-in. ``audio_start_ms`` is the session's own onset estimate, since
        Nova's offset counts from the start of the current stream."""
        if self.done_pending is not None:
            out = self.flush()
        elif self.response_active and not self.discard and self._answering:
            return self._barge_in([], onset_ms)
        else:
            out = []
        if self._user_speech_announced or self.suppress_next_user_turn:
            return out
        return out + self._speech_started(onset_ms)

    def heard_speech_begin(self, onset_ms: int) -> list[Event]:
        """The session's own measure says an utterance began (a model with no speech
        signals of its own, v1): announce it now rather than after Nova's end-of-turn
        pause, so clients can stop playback. Over a reply, whether it is a barge-in stays
        Nova's call (its interrupt marker); the core mutes what the client truncates."""
        if self.manual_turns or self.suppress_next_user_turn:
            return []
        out = self.flush()
        if self._user_speech_announced or self._user_open:
            return out
        self._unconfirmed = True
        return out + self._speech_started(onset_ms)

    def drop_unconfirmed_speech(self, audio_ms: int) -> list[Event]:
        """Speech announced from the audio that Nova never took as a turn (a cough, a
        door): the turn closes empty, as a server VAD's false start does."""
        if not self._unconfirmed or self._user_open or not self._user_speech_announced:
            return []
        return self._close_user_turn(audio_ms, allow_empty=True)

    @property
    def awaiting_confirmation(self) -> bool:
        return self._unconfirmed and not self._user_open

    def _speech_started(self, at_ms: int) -> list[Event]:
        self._user_speech_announced = True
        self._user_item = self.committed_item or new_item_id()
        if self.manual_turns:
            return []
        return [SpeechStarted(item_id=self._user_item, audio_start_ms=at_ms)]

    def _speech_stopped(self, audio_ms: int) -> list[Event]:
        if self.manual_turns:
            return []
        return [SpeechStopped(item_id=self._user_item, audio_end_ms=audio_ms)]

    def _close_user_turn(self, audio_ms: int, *, allow_empty: bool = False) -> list[Event]:
        closing = self._user_open or (self._user_speech_announced and allow_empty)
        if closing:
            self._unconfirmed = False
        if closing and self.committed_item is not None:
            self._user_item, self.committed_item = self.committed_item, None
        if not self._user_open:
            if self._user_speech_announced and allow_empty:
                # A barge-in whose speech never got a transcript: still close the turn.
                self._user_speech_announced = False
                return [
                    *self._speech_stopped(audio_ms),
                    InputTranscript(item_id=self._user_item, text=""),
                ]
            return []
        self._user_open = False
        self._user_speech_announced = False
        if self._user_suppressed:
            return []
        text = " ".join(self._user_text).strip()
        return [
            *self._speech_stopped(audio_ms),
            InputTranscript(item_id=self._user_item, text=text, final=True),
        ]

    def _text(self, t: ev.TextOutput, out: list[Event], onset_ms: int) -> list[Event]:
        if is_interrupt_marker(t.content):
            return self._barge_in(out, onset_ms)
        block = self._blocks.get(t.content_id)
        role = block.role if block is not None else (t.role or "").upper()
        if role == "USER":
            if t.content.strip():
                self._user_text.append(t.content.strip())
            return out
        if block is None or not self._emitting(t.content_id) or not t.content:
            return out
        # SPECULATIVE text comes before its audio: as text, or as the audio's transcript,
        # it streams with the reply (captions, and what a truncation cuts); FINAL repeats
        # it after the audio and is used only when no SPECULATIVE text came.
        if not block.speculative and self._spec_emitted:
            return out
        self._spec_emitted = self._spec_emitted or block.speculative
        rid = self.response_id
        if self.text_only:
            out.append(TextDelta(response_id=rid, text=t.content))
        else:
            out.append(TranscriptDelta(response_id=rid, text=t.content))
        return out

    def _barge_in(self, out: list[Event], onset_ms: int) -> list[Event]:
        if not self.response_active or self.discard:
            return out
        if self.done_pending is not None:
            # The response had finished; only its usage was outstanding.
            return out + self.flush()
        if not self._user_speech_announced:
            out += self._speech_started(onset_ms)
        out.append(self._finish("cancelled", "turn_detected"))
        self.discard = True
        return out

    def _content_end(self, ce: ev.OutContentEnd, out: list[Event], onset_ms: int) -> list[Event]:
        block = self._blocks.pop(ce.content_id, None)
        reason = ce.stop_reason.upper()
        if block is None or block.role == "USER":
            return out
        if reason == "INTERRUPTED":
            return self._barge_in(out, onset_ms)
        if not self.response_active or self.discard:
            return out
        if block.type == "TOOL" or reason == "TOOL_USE":
            # The model waits for the tool result: this response is complete, the
            # continuation is a new response (response.create after the output item).
            out += self.flush()
            self.done_pending = ("completed", None)
        elif reason == "END_TURN":
            self.done_pending = ("completed", None)
        elif "MAX_TOKENS" in reason:
            self.done_pending = ("incomplete", "max_output_tokens")
        return out

    def _finish(
        self, status: ResponseStatus, reason: str | None, error: ResponseError | None = None
    ) -> ResponseDone:
        response_id = self.response_id
        self.response_active = False
        self.requested = False
        self._answering = False
        self.done_pending = None
        self._spec_emitted = False
        usage = self._usage.take()
        done = self.ledger.finish(response_id, status, reason, usage, error)
        assert done is not None, "a response is finished once"
        if (waiting := self.ledger.next_request()) is not None:
            self._activate(waiting)
        return done
