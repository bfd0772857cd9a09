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
- Identity: responses are the kit's ``ResponseTurns``' (the core's ids for requested ones,
  a new announced id when Nova answers speech on its own); the user's spoken turn is the
  kit's ``SpokenTurn`` (its item id given when Nova shows it heard it, or when the session
  measured speech first; the USER block's words given whole when the turn closes). A
  requested response is Nova's from the moment it is asked for (the session gives Nova the
  request at once): output, a barge-in, a cancel, a close or a failure are its before its
  first block, and its end carries the usage so far. A cancelled response's completion is
  Nova's to finish: its output is dropped until its ``completionEnd``, so it never leaks
  into the next response.
- Usage events carry deltas; they are summed into the response they belong to. A response
  that ended on END_TURN waits for the next usage event (or ``flush()``) before its
  ``ResponseDone`` goes out, because Nova reports the turn's usage just after it.
"""

from __future__ import annotations

import msgspec

from rtcore.kit import LedgerResponse, ResponseTurns, SpokenTurn
from rtcore.provider.messages import (
    AudioDelta,
    CreateResponse,
    Event,
    Modality,
    ResponseDone,
    ResponseError,
    ResponseStatus,
    TextDelta,
    ToolCall,
    TranscriptDelta,
    Usage,
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
        # The session's output modalities (a response of Nova's own has them).
        self.modalities = modalities
        self.responses = ResponseTurns(modalities)
        # A response that ended on END_TURN (or at a tool call): its done waits for Nova's
        # usage event, or ``flush()``.
        self.done_pending: tuple[ResponseStatus, str | None] | None = None
        # The user's spoken turn (push-to-talk: ``turn.manual``; a commit: ``turn.commit``).
        self.turn = SpokenTurn()
        # Nova's USER block is open: it is transcribing a turn (its words, held until the
        # turn closes, in ``_words``).
        self.user_turn_open = False
        self._words: list[str] = []
        # The next USER block is the session's own text or spoken nudge, not the user's:
        # it is no turn of theirs (``_nudge`` while that block is open).
        self.suppress_next_user_turn = False
        self._nudge = False
        self._spec_emitted = False
        self._blocks: dict[str, _Block] = {}
        self._usage = UsageMeter()
        self.open_tool_calls: dict[str, ToolCall] = {}

    # -- commands from the session ----------------------------------------------------------

    def request(self, create: CreateResponse, modalities: tuple[Modality, ...]) -> list[Event]:
        """The core created a response (``CreateResponse``). It is active at once unless
        Nova is still answering on its own; then it waits for that answer's end."""
        out = self.flush()
        self.responses.request(create, modalities)
        return out

    def cancel(self, response_id: str) -> tuple[list[Event], bool]:
        """Cancel by id; True when Nova must be stopped: the response was its to answer
        (Nova has no cancel: it would go on generating it) and nothing was being dropped
        already."""
        out = self.flush()
        responses = self.responses
        active = responses.ledger.active
        if active is not None and active.id == response_id:
            stop = not responses.discarding
            out.append(self._finish("cancelled", "client_cancelled"))
            responses.discarding = True
            return out, stop
        events, _ = responses.cancel(response_id)  # it was still waiting for its turn
        return out + events, False

    def close(self) -> list[Event]:
        """The session closes: every open response ends, cancelled."""
        out = self.flush()
        if self.responses.responding:
            out.append(self._finish("cancelled", None))
        return out + self.responses.close(Usage())

    def fail(self, error: ResponseError) -> list[Event]:
        """The upstream stream broke (``error`` says how): close what is open so the core
        is never left waiting for a ResponseDone that cannot come."""
        out = self.flush()
        if self.responses.responding:
            out.append(self._finish("failed", None, error))
        out += self.responses.fail(error)
        self._blocks.clear()
        self.user_turn_open = False
        self._words.clear()
        self.open_tool_calls.clear()
        return out

    def new_stream(self) -> None:
        """A fresh stream replaced the live one: a cancelled reply the old one was still
        generating is gone with it, and so are its content blocks."""
        self.responses.turn_ended()
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
            target = self._target(a.content_id)
            if target is not None and "audio" in target.modalities:
                out.append(AudioDelta(response_id=target.id, pcm=a.content))
            return out
        if (tu := event.tool_use) is not None:
            if (target := self._target(tu.content_id)) is not None:
                call = ToolCall(
                    response_id=target.id,
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
            out += self._close_user_block(audio_ms)
            # A response asked for and not yet answered was created after the completion
            # that ends here (a response.create right after response.done, before Nova's
            # completionEnd): that end is not its own.
            if self.responses.current is not None:
                out.append(self._finish("completed", None))
            # Nova finished the completion of a cancelled response: what follows is new.
            self.responses.turn_ended()
            return out
        return out

    def _target(self, content_id: str) -> LedgerResponse | None:
        """The response a block's output goes to (None: it is dropped)."""
        responses = self.responses
        if responses.discarding or content_id not in self._blocks:
            return None
        return responses.ledger.active

    def _content_start(
        self, cs: ev.OutContentStart, out: list[Event], audio_ms: int, onset_ms: int
    ) -> list[Event]:
        speculative = is_speculative(cs.additional_model_fields)
        role = cs.role.upper()
        self._blocks[cs.content_id] = _Block(type=cs.type, role=role, speculative=speculative)
        if role == "USER":
            out += self.flush()
            if not self.user_turn_open:
                self.user_turn_open = True
                self._words.clear()
                self._nudge, self.suppress_next_user_turn = self.suppress_next_user_turn, False
                if not self._nudge:
                    # Nova took the turn (speech announced from the audio is confirmed).
                    out += self.turn.heard_speech(min(onset_ms, audio_ms))
            responses = self.responses
            if responses.current is not None or not responses.responding:
                # (Not while a request awaits its answer: the rest of a cancelled
                # completion may still come before it.)
                responses.turn_ended()
            return out
        # An assistant FINAL text block may still follow an END_TURN audio block.
        if self.done_pending is not None and not (cs.type == "TEXT" and not speculative):
            out += self.flush()
        if self.responses.discarding:
            return out  # trailing output of a cancelled response
        out += self._close_user_block(audio_ms)
        if not self.turn.awaiting_confirmation:
            # (Speech announced from the audio waits for Nova's verdict: its USER turn,
            # a barge-in, or silence long enough to call it noise.) A turn Nova heard
            # with no transcript (a barge-in's) still closes, empty.
            out += self.turn.close(audio_ms)
        self.suppress_next_user_turn = False
        if self.responses.current is None:
            # Nova's answer begins: to the request that awaits it, or its own (announced).
            out += self.responses.start(self.modalities)
        return out

    def _user_speech_start(self, onset_ms: int) -> list[Event]:
        """Nova 2 heard speech begin, as it happens (its USER transcript comes only after
        the end-of-turn pause): announce it now, so clients can stop playback. Over a reply
        it is a barge-in. ``audio_start_ms`` is the session's own onset estimate, since
        Nova's offset counts from the start of the current stream."""
        if self.done_pending is not None:
            out = self.flush()
        elif self.responses.current is not None:
            return self._barge_in([], onset_ms)
        else:
            out = []
        if self.turn.open or self.suppress_next_user_turn:
            return out
        return out + self.turn.heard_speech(onset_ms)

    def heard_speech_begin(self, onset_ms: int) -> list[Event]:
        """The session's own measure says an utterance began (a model with no speech
        signals of its own, v1): announce it now rather than after Nova's end-of-turn
        pause, so clients can stop playback. Over a reply, whether it is a barge-in stays
        Nova's call (its interrupt marker); the core mutes what the client truncates."""
        if self.turn.manual or self.suppress_next_user_turn:
            return []
        out = self.flush()
        if self.user_turn_open:
            return out
        return out + self.turn.measured(onset_ms)

    def _close_user_block(self, audio_ms: int) -> list[Event]:
        """Nova's USER block is over: the turn closes with its words (a nudge's block is
        no turn of the user's: nothing is said of it)."""
        if not self.user_turn_open:
            return []
        self.user_turn_open = False
        text, self._words = " ".join(self._words), []
        if self._nudge:
            return []
        return self.turn.close(audio_ms, text=text)

    def _text(self, t: ev.TextOutput, out: list[Event], onset_ms: int) -> list[Event]:
        if is_interrupt_marker(t.content):
            return self._barge_in(out, onset_ms)
        block = self._blocks.get(t.content_id)
        role = block.role if block is not None else (t.role or "").upper()
        if role == "USER":
            if t.content.strip():
                self._words.append(t.content.strip())
            return out
        target = self._target(t.content_id)
        if block is None or target is None or not t.content:
            return out
        # SPECULATIVE text comes before its audio: as text, or as the audio's transcript,
        # it streams with the reply (captions, and what a truncation cuts); FINAL repeats
        # it after the audio and is used only when no SPECULATIVE text came.
        if not block.speculative and self._spec_emitted:
            return out
        self._spec_emitted = self._spec_emitted or block.speculative
        if "audio" in target.modalities:
            out.append(TranscriptDelta(response_id=target.id, text=t.content))
        else:
            out.append(TextDelta(response_id=target.id, text=t.content))
        return out

    def _barge_in(self, out: list[Event], onset_ms: int) -> list[Event]:
        if not self.responses.responding or self.responses.discarding:
            return out
        if self.done_pending is not None:
            # The response had finished; only its usage was outstanding.
            return out + self.flush()
        if not self.turn.open:
            out += self.turn.heard_speech(onset_ms)
        out.append(self._finish("cancelled", "turn_detected"))
        self.responses.discarding = True
        return out

    def _content_end(self, ce: ev.OutContentEnd, out: list[Event], onset_ms: int) -> list[Event]:
        block = self._blocks.pop(ce.content_id, None)
        reason = ce.stop_reason.upper()
        if block is None or block.role == "USER":
            return out
        if reason == "INTERRUPTED":
            return self._barge_in(out, onset_ms)
        if not self.responses.responding or self.responses.discarding:
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
        """The active response ends (answered or not yet: a request is Nova's from the
        start), with the usage summed since the last one."""
        self.done_pending = None
        self._spec_emitted = False
        done = self.responses.finish(status, reason, self._usage.take(), error)
        # A request waiting for this end is active now: Nova was given it when it came.
        self.responses.take_activated()
        return done
