"""Gemini Live server messages -> neutral events (no I/O).

Gemini has no response object: a response is a model turn, from its first output to its
``turnComplete`` (``generationComplete`` is not the end: the turn may still hold tool
calls, and ``turnComplete`` carries the usage). Responses are the kit's ``ResponseLedger``'s:
a model turn goes to the requested response that is active, else it is Gemini answering
the user's speech on its own, announced (``ResponseStarted``) before its output.

- Barge-in: ``serverContent.interrupted`` ends the response (cancelled, turn_detected),
  after ``SpeechStarted`` for the user's new turn; what is left of the interrupted turn
  is dropped until its ``turnComplete``.
- The user's speech: Gemini sends no speech-start or speech-stop of its own (``voiceActivity``
  when it does). A spoken turn is announced on the first sign Gemini heard it (its
  ``voiceActivity`` start, an input transcription, a barge-in), at the onset the session
  measured in the audio, and stopped when Gemini begins answering it (or its
  ``voiceActivity`` end). Transcription fragments of a push-to-talk turn go out as they
  arrive, never held for the response: a client waits for the transcript before it asks
  for the reply.
- Tool calls: a blocking call (the model waits for the result) ends the response at the
  call; a NON_BLOCKING one leaves it open until ``turnComplete``.
- Usage: summed from ``usageMetadata`` (per turn, with per-modality details) into the next
  response to end; a turn cut short reports its usage after its done, so it is carried
  into the next response rather than lost.
"""

from __future__ import annotations

import json
from typing import Any

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
    Usage,
)


class UsageSum:
    """``usageMetadata`` (the SDK's ``UsageMetadata``: Vertex's candidates counts arrive as
    response counts) summed per modality."""

    def __init__(self) -> None:
        self.in_text = self.in_audio = self.out_text = self.out_audio = self.cached = 0

    def add(self, meta: Any, audio_out: bool) -> None:
        prompt = meta.prompt_token_count or 0
        audio_in = _modality(meta.prompt_tokens_details, "AUDIO")
        self.in_audio += audio_in
        # Details do not always sum to the total: the rest is counted as text.
        self.in_text += max(0, prompt - audio_in)
        out = meta.response_token_count or 0
        audio = _modality(meta.response_tokens_details, "AUDIO")
        text = _modality(meta.response_tokens_details, "TEXT")
        rest = max(0, out - audio - text)
        self.out_audio += audio + (rest if audio_out else 0)
        # Thinking is billed as text output.
        self.out_text += text + (0 if audio_out else rest) + (meta.thoughts_token_count or 0)
        self.cached += meta.cached_content_token_count or 0

    def take(self) -> Usage:
        usage = Usage(
            input_text_tokens=self.in_text,
            input_audio_tokens=self.in_audio,
            output_text_tokens=self.out_text,
            output_audio_tokens=self.out_audio,
            cached_tokens=self.cached,
        )
        self.__init__()  # type: ignore[misc]
        return usage


def _modality(details: Any, modality: str) -> int:
    total = 0
    for detail in details or ():
        name = getattr(detail.modality, "value", detail.modality)
        if str(name).upper() == modality:
            total += detail.token_count or 0
    return total


class Inbound:
    def __init__(self, modalities: tuple[Modality, ...], *, blocking_tools: bool) -> None:
        self.modalities = modalities
        self.blocking_tools = blocking_tools
        self.ledger = ResponseLedger()
        # The response the current model turn's output goes to.
        self.current: str | None = None
        self._current_modalities: tuple[Modality, ...] = modalities
        self._saw_transcription = False
        # Output of a turn whose response is over (cancelled, interrupted) is dropped
        # until that turn's end.
        self.discarding = False
        self.usage = UsageSum()
        self.open_calls: dict[str, ToolCall] = {}
        # Push-to-talk: the client marks turns; no speech events.
        self.manual_turns = False
        # The user's turn: its item, and whether it was announced, stopped, answered.
        self.committed_item: str | None = None
        self._user: str | None = None
        self._announced = False
        self._stopped = False
        self._answered = False
        self._held_text: list[str] = []
        # The open turn was announced from the session's measure, and Gemini has shown no
        # sign of it yet (it may be noise to Gemini: see drop_unconfirmed_speech).
        self._unconfirmed = False
        # Gemini showed it heard the user's audio so far (for the session's replay).
        self.heard = False
        self._activated: list[LedgerResponse] = []
        self._audio_ms = 0

    # -- the session's commands --------------------------------------------------------

    @property
    def user_open(self) -> bool:
        return self._user is not None and not self._answered

    def request(self, create: CreateResponse, modalities: tuple[Modality, ...]) -> bool:
        """Record a requested response; True when it is active now (to be sent)."""
        response = self.ledger.request(create, modalities)
        return self.ledger.active is response

    def take_activated(self) -> list[LedgerResponse]:
        """Requests that became active as an earlier response ended: to be sent now."""
        activated, self._activated = self._activated, []
        return activated

    def cancel(self, response_id: str) -> tuple[list[Event], bool]:
        """Cancel by id; True when Gemini may still be generating it (the session then
        stops it upstream)."""
        active = self.ledger.active
        generating = active is not None and active.id == response_id
        done = self.ledger.cancel(response_id)
        if done is None:
            return [], False
        if generating:
            self.current = None
            self.discarding = True
            self._next()
        return [done], generating

    def fail(self, error: ResponseError) -> list[Event]:
        """The connection broke: what was open fails, the user's turn closes."""
        out = self._close_user()
        if self.current is not None:
            out.append(self._finish("failed", None, error))
        out += self.ledger.fail_all("failed", error=error)
        self._activated.clear()
        self.current = None
        self.discarding = False
        return out

    def close(self) -> list[Event]:
        out = self._close_user()
        if self.current is not None:
            out.append(self._finish("cancelled", None))
        self._activated.clear()
        return out + self.ledger.fail_all("cancelled")

    def new_connection(self) -> None:
        """A new connection took over (between turns): nothing of the old one's turn is
        left to drop."""
        self.discarding = False

    # -- Gemini's messages ---------------------------------------------------------------

    def feed(self, msg: Any, *, onset_ms: int, audio_ms: int) -> list[Event]:
        out: list[Event] = []
        self._audio_ms = audio_ms
        if (meta := msg.usage_metadata) is not None:
            self.usage.add(meta, "audio" in self._current_modalities)
        if (activity := msg.voice_activity) is not None:
            kind = str(getattr(activity.voice_activity_type, "value", "") or "")
            if kind.endswith("START"):
                out += self._user_speaks(onset_ms)
            elif kind.endswith("END"):
                out += self._speech_stopped(audio_ms)
        if (sc := msg.server_content) is not None:
            out += self._content(sc, onset_ms, audio_ms)
        if (call := msg.tool_call) is not None:
            out += self._tool_call(call, audio_ms)
        if (cancelled := msg.tool_call_cancellation) is not None:
            for call_id in cancelled.ids or ():
                self.open_calls.pop(call_id, None)
        return out

    def _content(self, sc: Any, onset_ms: int, audio_ms: int) -> list[Event]:
        out: list[Event] = []
        if sc.interrupted:
            out += self._barge_in(onset_ms)
        if (heard := sc.input_transcription) is not None:
            if heard.text:
                out += self._user_text(heard.text, onset_ms)
            if heard.finished:
                out += self._close_user(audio_ms)
        if (turn := sc.model_turn) is not None:
            for part in turn.parts or ():
                if part.thought:
                    continue
                if (blob := part.inline_data) is not None and blob.data:
                    out += self._audio(blob.data, audio_ms)
                elif part.text and not self._saw_transcription:
                    out += self._text(part.text, audio_ms)
        if (said := sc.output_transcription) is not None and said.text:
            self._saw_transcription = True
            out += self._text(said.text, audio_ms)
        if sc.generation_complete and self._answered:
            out += self._close_user(audio_ms)
        if sc.turn_complete:
            if self._answered:
                out += self._close_user(audio_ms)
            if self.current is not None:
                reason = str(getattr(sc.turn_complete_reason, "value", "") or "")
                if "MAX_TOKENS" in reason:
                    out.append(self._finish("incomplete", "max_output_tokens"))
                else:
                    out.append(self._finish("completed", None))
            self.discarding = False
            self._saw_transcription = False
        return out

    def _target(self, audio_ms: int) -> tuple[list[Event], str | None]:
        """The response this turn's output goes to (announcing Gemini's own first)."""
        if self.discarding:
            return [], None
        if self.current is not None:
            return [], self.current
        out: list[Event] = []
        if self._user is None and self.committed_item is not None:
            # A push-to-talk turn answered before any transcript of it.
            self._user, self.committed_item = self.committed_item, None
            self._announced = self._stopped = False
        active = self.ledger.active
        if active is None:
            # Gemini answers the user on its own: their turn is over.
            out += self._speech_stopped(audio_ms)
            out.append(self.ledger.start_own(self.modalities))
            active = self.ledger.active
            assert active is not None
        self.current = active.id
        self._current_modalities = active.modalities
        if self._user is not None:
            self._answered = True
            self.heard = True
            self._unconfirmed = False
        return out, self.current

    def _audio(self, pcm: bytes, audio_ms: int) -> list[Event]:
        out, rid = self._target(audio_ms)
        if rid is not None and "audio" in self._current_modalities:
            out.append(AudioDelta(response_id=rid, pcm=pcm))
        return out

    def _text(self, text: str, audio_ms: int) -> list[Event]:
        out, rid = self._target(audio_ms)
        if rid is None:
            return out
        if "audio" in self._current_modalities:
            out.append(TranscriptDelta(response_id=rid, text=text))
        else:
            out.append(TextDelta(response_id=rid, text=text))
        return out

    def _tool_call(self, call: Any, audio_ms: int) -> list[Event]:
        out: list[Event] = []
        for fc in call.function_calls or ():
            events, rid = self._target(audio_ms)
            out += events
            if rid is None:
                continue
            tool = ToolCall(
                response_id=rid,
                call_id=fc.id or new_item_id().replace("item_", "call_"),
                name=fc.name or "",
                arguments=json.dumps(fc.args or {}),
            )
            self.open_calls[tool.call_id] = tool
            out.append(tool)
        if self.blocking_tools and self.current is not None and out:
            # The model waits for the results: this response is complete; what it says
            # once it has them is the next response (the client's response.create).
            out.append(self._finish("completed", None))
        return out

    def _barge_in(self, onset_ms: int) -> list[Event]:
        out: list[Event] = []
        if self._answered:
            out += self._close_user()
        out += self._user_speaks(onset_ms)
        if self.current is not None:
            out.append(self._finish("cancelled", "turn_detected"))
            self.discarding = True
        return out

    # -- the user's turn -----------------------------------------------------------------

    def _user_speaks(self, onset_ms: int) -> list[Event]:
        """Gemini heard the user: their turn opens (announced, with turn detection on)."""
        self.heard = True
        self._unconfirmed = False
        if self._user is not None and not self._answered:
            return []
        out = self._close_user() if self._user is not None else []
        self._user = self.committed_item or new_item_id()
        self.committed_item = None
        self._announced = self._stopped = self._answered = False
        self._held_text = []
        if self.manual_turns:
            return out
        self._announced = True
        return [*out, SpeechStarted(item_id=self._user, audio_start_ms=onset_ms)]

    def speech_measured(self, onset_ms: int) -> list[Event]:
        """The session measured speech beginning in the client's audio. Gemini says nothing
        of it until its transcript, after its end-of-speech silence, and its answer starts
        at once: announced now, so that clients hear of the turn while the user speaks
        (pipecat treats a speech start after the answer began as a barge-in over it).
        During a model turn Gemini's own ``interrupted`` says it; push-to-talk has none."""
        if self.manual_turns or self.current is not None or self.user_open:
            return []
        heard = self.heard  # measured here, not yet heard by Gemini (the replay's concern)
        out = self._user_speaks(onset_ms)
        self.heard = heard
        self._unconfirmed = bool(out)
        return out

    @property
    def awaiting_confirmation(self) -> bool:
        return self._unconfirmed and self.user_open

    def drop_unconfirmed_speech(self, audio_ms: int) -> list[Event]:
        """Speech announced from the audio that Gemini never took as a turn (a cough, a
        door): the turn closes empty, as a server VAD's false start does."""
        if not self.awaiting_confirmation:
            return []
        self._unconfirmed = False
        return self._close_user(audio_ms)

    def _user_text(self, text: str, onset_ms: int) -> list[Event]:
        self._unconfirmed = False
        out = [] if self._user is not None else self._user_speaks(onset_ms)
        assert self._user is not None
        if self._announced and not self._stopped:
            # Sent once the turn is committed (SpeechStopped), so that the client sees
            # the item before its transcript.
            self._held_text.append(text)
            return out
        return [*out, InputTranscript(item_id=self._user, text=text, final=False)]

    def _speech_stopped(self, audio_ms: int) -> list[Event]:
        if self._user is None or not self._announced or self._stopped:
            return []
        self._stopped = True
        out: list[Event] = [SpeechStopped(item_id=self._user, audio_end_ms=audio_ms)]
        if self._held_text:
            text, self._held_text = "".join(self._held_text), []
            out.append(InputTranscript(item_id=self._user, text=text, final=False))
        return out

    def _close_user(self, audio_ms: int | None = None) -> list[Event]:
        if self._user is None:
            return []
        out = self._speech_stopped(self._audio_ms if audio_ms is None else audio_ms)
        out.append(InputTranscript(item_id=self._user, text="", final=True))
        self._user = None
        self._announced = self._stopped = self._answered = False
        return out

    def _finish(
        self, status: ResponseStatus, reason: str | None, error: ResponseError | None = None
    ) -> ResponseDone:
        response_id = self.current or (self.ledger.active.id if self.ledger.active else "")
        self.current = None
        usage = self.usage.take() if status != "failed" else Usage()
        done = self.ledger.finish(response_id, status, reason, usage, error)
        assert done is not None, "a response is finished once"
        self._next()
        return done

    def _next(self) -> None:
        if (waiting := self.ledger.next_request()) is not None:
            self._activated.append(waiting)
