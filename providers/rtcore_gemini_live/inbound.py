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

from rtcore.kit import ResponseTurns, SpokenTurn, new_item_id
from rtcore.provider.messages import (
    AudioDelta,
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

# turnCompleteReason values that say the reply was cut or withheld for its content (the
# safety filters, the blocklists, prohibited input): OpenAI's ``content_filter``.
_FILTERED = ("SAFETY", "PROHIBITED", "BLOCKLIST", "REJECTED", "CELEBRITY", "INPUT_OTHER")


def _ending(reason: str) -> tuple[ResponseStatus, str | None]:
    """How a model turn that ends with ``turnCompleteReason`` ends its response."""
    if "MAX_TOKENS" in reason:
        return "incomplete", "max_output_tokens"
    if any(word in reason for word in _FILTERED) or "PEOPLE" in reason or "MINORS" in reason:
        return "incomplete", "content_filter"
    return "completed", None


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
        self.responses = ResponseTurns(modalities)
        self.turn = SpokenTurn()
        self._saw_transcription = False
        self.usage = UsageSum()
        self.open_calls: dict[str, ToolCall] = {}

    # -- the session's commands (requests and cancels go to ``responses`` itself) ------

    def fail(self, error: ResponseError) -> list[Event]:
        """The connection broke: what was open fails, the user's turn closes."""
        return self.turn.close() + self.responses.fail(error)

    def close(self) -> list[Event]:
        return self.turn.close() + self.responses.close(self.usage.take())

    def new_connection(self) -> None:
        """A new connection took over (between turns): nothing of the old one's turn is
        left to drop."""
        self.responses.turn_ended()

    # -- Gemini's messages ---------------------------------------------------------------

    def feed(self, msg: Any, *, onset_ms: int, audio_ms: int) -> list[Event]:
        out: list[Event] = []
        self.turn.at_ms = audio_ms
        if (meta := msg.usage_metadata) is not None:
            self.usage.add(meta, "audio" in self.responses.modalities)
        if (activity := msg.voice_activity) is not None:
            kind = str(getattr(activity.voice_activity_type, "value", "") or "")
            if kind.endswith("START"):
                out += self.turn.heard_speech(onset_ms)
            elif kind.endswith("END"):
                out += self.turn.stop(audio_ms)
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
        turn = self.turn
        if sc.interrupted:
            out += self._barge_in(onset_ms)
        if (heard := sc.input_transcription) is not None:
            if heard.text:
                out += turn.transcript(heard.text, onset_ms)
            if heard.finished:
                out += turn.close(audio_ms)
        if (model_turn := sc.model_turn) is not None:
            for part in model_turn.parts or ():
                if part.thought:
                    continue
                if (blob := part.inline_data) is not None and blob.data:
                    out += self._audio(blob.data, audio_ms)
                elif part.text and not self._saw_transcription:
                    out += self._text(part.text, audio_ms)
        if (said := sc.output_transcription) is not None and said.text:
            self._saw_transcription = True
            out += self._text(said.text, audio_ms)
        if (sc.generation_complete or sc.turn_complete) and turn.answered:
            out += turn.close(audio_ms)
        if sc.turn_complete:
            if self.responses.current is not None:
                reason = str(getattr(sc.turn_complete_reason, "value", "") or "")
                out.append(self._finish(*_ending(reason)))
            self.responses.turn_ended()
            self._saw_transcription = False
        return out

    def _target(self, audio_ms: int) -> tuple[list[Event], str | None]:
        """The response this turn's output goes to (announcing Gemini's own first)."""
        responses = self.responses
        if responses.discarding:
            return [], None
        if responses.current is not None:
            return [], responses.current
        own = responses.ledger.active is None
        out = self.turn.answered_by_model(own=own, audio_ms=audio_ms)
        out += responses.start(self.modalities)
        return out, responses.current

    def _audio(self, pcm: bytes, audio_ms: int) -> list[Event]:
        out, rid = self._target(audio_ms)
        if rid is not None and "audio" in self.responses.modalities:
            out.append(AudioDelta(response_id=rid, pcm=pcm))
        return out

    def _text(self, text: str, audio_ms: int) -> list[Event]:
        out, rid = self._target(audio_ms)
        if rid is None:
            return out
        if "audio" in self.responses.modalities:
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
        if self.blocking_tools and self.responses.current is not None and out:
            # The model waits for the results: this response is complete; what it says
            # once it has them is the next response (the client's response.create).
            out.append(self._finish("completed", None))
        return out

    def _barge_in(self, onset_ms: int) -> list[Event]:
        out: list[Event] = []
        if self.turn.answered:
            out += self.turn.close()
        out += self.turn.heard_speech(onset_ms)
        if self.responses.current is not None:
            out.append(self._finish("cancelled", "turn_detected"))
            self.responses.discarding = True
        return out

    def speech_measured(self, onset_ms: int) -> list[Event]:
        """The session measured speech beginning in the client's audio. Gemini says nothing
        of it until its transcript, after its end-of-speech silence, and its answer starts
        at once: announced now, so that clients hear of the turn while the user speaks
        (pipecat treats a speech start after the answer began as a barge-in over it).
        During a model turn Gemini's own ``interrupted`` says it; push-to-talk has none."""
        if self.responses.current is not None:
            return []
        return self.turn.measured(onset_ms)

    def _finish(self, status: ResponseStatus, reason: str | None) -> ResponseDone:
        return self.responses.finish(status, reason, self.usage.take())
