"""The deterministic model of one connection: turns from text or audio, replies, tools,
barge-in, transcriptions, usage and resumption handles."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rtcore_emulated_speech import tones, voice
from rtcore_emulated_speech.script import Script, default_reply
from rtcore_emulated_speech.tooluse import arguments, match_tool
from rtcore_emulated_speech.vad import EnergyVad

from . import output
from .errors import invalid
from .keys import camel, items, pick
from .models import Model
from .output import Outbox, Usage, audio_tokens, text_tokens
from .probe import AudioProbe
from .resumption import HandleStore, SessionState
from .setup import VOICES, Function, Setup, functions_of
from .stats import Heard, Stats, ToolCallIssued, ToolResponseReceived

INPUT_RATE = 16000  # native input rate; others are declared in the mime type (reference §0.5)
CHUNK_SECONDS = 0.08
# Silence that ends a turn, by endOfSpeechSensitivity (HIGH ends speech sooner); the
# emulator's figures, each below the 2.1 s of silence that ends every tone-coded utterance.
END_SECONDS = {"END_SENSITIVITY_HIGH": 1.0, "END_SENSITIVITY_LOW": 2.0}
DEFAULT_END_SECONDS = 1.0
# Voiced audio before speech counts as started, by startOfSpeechSensitivity.
START_SECONDS = {"START_SENSITIVITY_HIGH": 0.06, "START_SENSITIVITY_LOW": 0.1}
DEFAULT_START_SECONDS = 0.1
# Manual activity: the turn ends at activityEnd, never on silence.
_NEVER = 1e9
# The question that shows the model keeps its history (resumption restores it).
MEMORY_QUESTION = "what did i say before?"
_RATE = re.compile(r"rate=(\d+)")
_FRAGMENT = re.compile(r"\S+\s*")
_B64_URLSAFE = bytes.maketrans(b"-_", b"+/")

# Called with the 1-based model-turn number once the turn's first output is out; faults use it.
type FirstOutputHook = Callable[[int], Awaitable[None]]


def pitch_for(voice_name: str) -> float:
    """Each prebuilt voice its own pitch, 110..200 Hz, so voices sound different."""
    index = VOICES.index(voice_name) if voice_name in VOICES else 5
    return 110.0 + 10.0 * (index % 10)


def decode_b64(data: Any) -> bytes:
    """Standard or URL-safe base64 (google-genai sends URL-safe)."""
    if not isinstance(data, str):
        raise invalid("blob data must be a base64 string")
    raw = data.encode("ascii", errors="replace").translate(_B64_URLSAFE)
    try:
        return base64.b64decode(raw + b"=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise invalid("blob data is not base64") from None


def response_text(response: Any) -> str:
    """What the model reads of a function response: the string of a one-key
    ``{"output": s}`` / ``{"result": s}``, else the response as JSON."""
    if isinstance(response, dict) and len(response) == 1:
        (key, value), *_ = response.items()
        if key in ("output", "result") and isinstance(value, str):
            return value
    return json.dumps(response)


@dataclass(slots=True)
class Turn:
    said: str
    spoken: bool = False
    # A NON_BLOCKING call's result, answered in a turn of its own.
    tool_reply: str | None = None


@dataclass(slots=True)
class _Call:
    name: str
    future: asyncio.Future[str] | None  # a blocking call's result; None: NON_BLOCKING


@dataclass(slots=True)
class _Spoken:
    text: str  # what was said (all of it, or up to the interruption)
    seconds: float = 0.0
    interrupted: bool = False


@dataclass
class Conversation:
    setup: Setup
    model: Model
    state: SessionState
    out: Outbox
    script: Script
    stats: Stats
    handles: HandleStore
    connection: int
    vertex: bool
    # Read per chunk, so a test can change the pace of a live connection.
    realtime_factor: Callable[[], float]
    first_output: FirstOutputHook
    probe: AudioProbe | None = None
    # Called with a turn's number once it is taken (its input transcription sent), before
    # it is answered.
    taken: FirstOutputHook | None = None
    _turns: asyncio.Queue[Turn] = field(default_factory=asyncio.Queue)
    _vad: EnergyVad | None = None
    _in_activity: bool = False
    _activity_text: list[str] = field(default_factory=list)
    _busy: bool = False
    _interrupt: asyncio.Event = field(default_factory=asyncio.Event)
    _calls: dict[str, _Call] = field(default_factory=dict)  # issued, not yet answered
    _answered: set[str] = field(default_factory=set)
    _seeding: bool = False
    turn_number: int = 0
    hung: bool = False  # a TEXT turn on an audio-only model: it never completes

    def __post_init__(self) -> None:
        self._seeding = self.setup.initial_history_in_client_content

    # Input side: called by the connection's reader, one message at a time.
    def on_client_content(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise invalid("clientContent must be an object")
        said = ""
        for content in items(body, "turns"):
            if not isinstance(content, dict):
                raise invalid("a turn must be a Content object")
            role = pick(content, "role") or "user"
            if role not in ("user", "model"):
                raise invalid(f"unknown role {role!r}")
            text = "".join(
                str(pick(part, "text", ""))
                for part in items(content, "parts")
                if isinstance(part, dict)
            )
            self.state.history.append({"role": role, "parts": [{"text": text}]})
            if role == "user":
                said = text
        if not pick(body, "turnComplete", False):
            return
        if self._seeding:
            # historyConfig.initialHistoryInClientContent: the history ends at the first
            # turnComplete, without a model turn (reference §2.1).
            self._seeding = False
            return
        # A complete turn starts generation and interrupts a running one (reference §2.2).
        self._stop_output()
        self._turns.put_nowait(Turn(said))

    def on_realtime_input(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise invalid("realtimeInput must be an object")
        for key, value in body.items():
            name = camel(key)
            if name == "audio":
                self._on_blob(value)
            elif name == "mediaChunks":
                for blob in value if isinstance(value, list) else []:
                    self._on_blob(blob)
            elif name == "video":
                continue  # frames are accepted and not looked at
            elif name == "text":
                self._on_text(value)
            elif name == "activityStart":
                self._activity_start()
            elif name == "activityEnd":
                self._activity_end()
            elif name == "audioStreamEnd":
                self._audio_stream_end()
            else:
                raise invalid(f"unknown realtimeInput field {key!r}")

    def on_tool_response(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise invalid("toolResponse must be an object")
        for response in items(body, "functionResponses"):
            if not isinstance(response, dict):
                raise invalid("a function response must be an object")
            call_id = self._call_id(response)
            call = self._calls[call_id]
            result = pick(response, "response") or {}
            self.stats.tool_responses.append(
                ToolResponseReceived(self.connection, call_id, call.name, result)
            )
            text = response_text(result)
            self.state.history.append(
                {
                    "role": "user",
                    "parts": [{"functionResponse": {"name": call.name, "response": result}}],
                }
            )
            if call.future is not None:
                del self._calls[call_id]
                self._answered.add(call_id)
                if not call.future.done():
                    call.future.set_result(text)
                continue
            if not pick(response, "willContinue", False):
                del self._calls[call_id]
                self._answered.add(call_id)
            # NON_BLOCKING: scheduling decides when the result is spoken (reference §4.4); the
            # SDK sends it on the response, guides show it inside "response" (§2.4).
            scheduling = pick(response, "scheduling") or (
                pick(result, "scheduling") if isinstance(result, dict) else None
            )
            if scheduling == "SILENT":
                continue
            if scheduling == "INTERRUPT":
                self._stop_output()
            self._turns.put_nowait(Turn("", tool_reply=self.script.after_tool(call.name, text)))

    def on_context_update(self, body: Any) -> None:
        if not self.model.gemini38:
            raise invalid("contextUpdate is a Gemini 3.8 Live message")
        if not isinstance(body, dict):
            raise invalid("contextUpdate must be an object")
        instruction = pick(body, "systemInstruction")
        if isinstance(instruction, dict):
            self.setup.system_instruction = "".join(
                str(pick(p, "text", "")) for p in items(instruction, "parts") if isinstance(p, dict)
            )
        tools = pick(body, "tools")
        if isinstance(tools, dict):
            self.setup.functions = functions_of(items(tools, "tools"))

    def _call_id(self, response: dict[str, Any]) -> str:
        call_id = pick(response, "id")
        if not call_id and self.vertex:
            # Vertex Live has taken responses without an id (reference §2.4): the oldest
            # open call of that name.
            name = pick(response, "name")
            call_id = next((i for i, c in self._calls.items() if c.name == name), None)
        if not isinstance(call_id, str) or call_id not in self._calls:
            # An id this connection never issued, or one already answered.
            raise invalid(f"function response for unknown call id {call_id!r}")
        return call_id

    def _on_blob(self, blob: Any) -> None:
        if not isinstance(blob, dict):
            raise invalid("a media blob must be an object")
        arrived = time.monotonic_ns() if self.probe is not None else 0
        mime = str(pick(blob, "mimeType") or "")
        pcm = decode_b64(pick(blob, "data", ""))
        self.stats.audio_bytes += len(pcm)
        if not mime.startswith("audio/pcm"):
            return  # other formats are accepted and not listened to
        if self.probe is not None:
            self.probe.audio_in(id(self), pcm, arrived)
        match = _RATE.search(mime)
        rate = int(match.group(1)) if match else INPUT_RATE
        if self.setup.activity.automatic:
            vad = self._vad
            if vad is None or vad.sample_rate != rate:
                vad = self._vad = self._new_vad(rate, self._end_seconds())
            result = vad.feed(pcm)
            if result.speech_started:
                self._user_activity()
            if result.turn is not None:
                self._spoken_turn(tones.detect_slot(result.turn, rate), result.turn_seconds)
        elif self._in_activity:
            vad = self._vad
            if vad is None or vad.sample_rate != rate:
                vad = self._vad = self._new_vad(rate, _NEVER)
            vad.feed(pcm)
        # Manual turns outside an activity: the audio is not part of any turn.

    def _on_text(self, text: Any) -> None:
        if not isinstance(text, str):
            raise invalid("realtimeInput.text must be a string")
        if self._in_activity:
            self._activity_text.append(text)
            return
        self._user_activity()
        self.state.history.append({"role": "user", "parts": [{"text": text}]})
        self._turns.put_nowait(Turn(text))

    def _activity_start(self) -> None:
        if self.setup.activity.automatic:
            raise invalid("activityStart needs automaticActivityDetection.disabled")
        self._in_activity = True
        self._activity_text = []
        self._vad = None
        self._user_activity()

    def _activity_end(self) -> None:
        if self.setup.activity.automatic:
            raise invalid("activityEnd needs automaticActivityDetection.disabled")
        if not self._in_activity:
            return
        self._in_activity = False
        text = "".join(self._activity_text)
        vad, self._vad = self._vad, None
        result = vad.flush() if vad is not None else None
        if vad is not None and result is not None and result.turn is not None:
            self._spoken_turn(tones.detect_slot(result.turn, vad.sample_rate), result.turn_seconds)
        elif text:
            self.state.history.append({"role": "user", "parts": [{"text": text}]})
            self._turns.put_nowait(Turn(text))
        else:
            # The client said a turn happened: an activity with no speech in it is heard as
            # speech that is no code.
            self._spoken_turn(None, 0.0)

    def _audio_stream_end(self) -> None:
        if not self.setup.activity.automatic:
            raise invalid("audioStreamEnd needs automatic activity detection")
        vad = self._vad
        if vad is not None:
            result = vad.flush()
            if result.turn is not None:
                self._spoken_turn(
                    tones.detect_slot(result.turn, vad.sample_rate), result.turn_seconds
                )

    def _new_vad(self, rate: int, end_seconds: float) -> EnergyVad:
        activity = self.setup.activity
        if activity.prefix_padding_ms is not None:
            onset = max(0.02, activity.prefix_padding_ms / 1000)
        else:
            onset = START_SECONDS.get(activity.start_sensitivity, DEFAULT_START_SECONDS)
        return EnergyVad(rate, end_seconds, onset_seconds=onset)

    def _end_seconds(self) -> float:
        activity = self.setup.activity
        if activity.silence_duration_ms is not None:
            return max(0.02, activity.silence_duration_ms / 1000)
        return END_SECONDS.get(activity.end_sensitivity, DEFAULT_END_SECONDS)

    def _spoken_turn(self, slot: int | None, seconds: float) -> None:
        self.stats.heard.append(Heard(self.connection, slot, seconds))
        said = self.script.transcript(slot)
        self.state.history.append({"role": "user", "parts": [{"text": said}]})
        self.state.audio_seconds += seconds
        self._turns.put_nowait(Turn(said, spoken=True))

    def _user_activity(self) -> None:
        """The user started speaking (or typing): barge-in, unless activityHandling is
        NO_INTERRUPTION (reference §4.2)."""
        if self.setup.activity.interrupts:
            self._stop_output()

    def _stop_output(self) -> None:
        if self._busy:
            self._interrupt.set()

    # Output side.
    async def run(self) -> None:
        while True:
            turn = await self._turns.get()
            await self._respond(turn)

    async def _respond(self, turn: Turn) -> None:
        self.turn_number += 1
        self.stats.turns += 1
        number = self.turn_number
        self._busy = True
        self._interrupt.clear()
        try:
            await self._generate(turn, number)
        finally:
            self._busy = False

    async def _generate(self, turn: Turn, number: int) -> None:
        out = self.out
        if self.setup.resumption:
            await out.send(output.resumption_update(None))
        usage = self._prompt_usage()
        if turn.spoken and (self.setup.input_transcription or self.model.always_transcribes_input):
            await out.send(output.server_content(inputTranscription={"text": turn.said}))
        if self.taken is not None:
            await self.taken(number)
        first = _First(self.first_output, number)
        if turn.tool_reply is not None:
            reply = turn.tool_reply
        else:
            scripted = self._reply(turn.said)
            function = None if scripted is not None else match_tool(self.setup.functions, turn.said)
            if function is not None:
                outcome = await self._call(function, turn.said, usage, first)
                if outcome is None:
                    return
                reply = outcome
            else:
                reply = scripted if scripted is not None else default_reply(turn.said)
        spoken = await self._say(reply, usage, first)
        await self._end_turn(spoken, usage)

    def _reply(self, said: str) -> str | None:
        scripted = self.script.scripted_reply(said)
        if scripted is not None:
            return scripted
        if " ".join(said.lower().split()) == MEMORY_QUESTION:
            before = [
                text
                for entry in self.state.history[:-1]
                if entry["role"] == "user"
                for part in entry["parts"]
                if (text := part.get("text"))
            ]
            return (
                f"Before, you said: {before[-1]}"
                if before
                else "You have not said anything before."
            )
        return None

    async def _call(self, function: Function, said: str, usage: Usage, first: _First) -> str | None:
        """Call ``function``; the reply to speak after a blocking call's result, or None when
        the turn is over (a NON_BLOCKING call, or a blocking one the user interrupted)."""
        call_id = f"function-call-{secrets.randbelow(10**19):019d}"
        args = arguments(function, said)
        self.stats.tool_calls.append(ToolCallIssued(self.connection, call_id, function.name, args))
        blocking = self._blocking(function)
        future: asyncio.Future[str] | None = (
            asyncio.get_running_loop().create_future() if blocking else None
        )
        self._calls[call_id] = _Call(function.name, future)
        self.state.history.append(
            {"role": "model", "parts": [{"functionCall": {"name": function.name, "args": args}}]}
        )
        usage.response_text += text_tokens(json.dumps(args))
        await self.out.send(
            output.tool_call([{"id": call_id, "name": function.name, "args": args}])
        )
        await first.done()
        if future is None:
            # The model goes on without waiting (reference §4.4): this turn ends here.
            await self._end_turn(_Spoken(""), usage)
            return None
        # A blocking call: no turnComplete until its response (reference §4.4).
        interrupted = await self._wait(future)
        if interrupted:
            self._calls.pop(call_id, None)
            await self._end_turn(_Spoken("", interrupted=True), usage, cancelled=[call_id])
            return None
        result = future.result()
        usage.prompt_text += text_tokens(result)
        return self.script.after_tool(function.name, result)

    def _blocking(self, function: Function) -> bool:
        if self.model.blocking_only:
            return True
        if self.model.non_blocking_only:
            return False
        if function.behavior:
            return function.behavior == "BLOCKING"
        return not self.model.non_blocking_default

    async def _wait(self, future: asyncio.Future[str]) -> bool:
        """Wait for ``future``; True if the user interrupted first."""
        interrupt = asyncio.ensure_future(self._interrupt.wait())
        try:
            await asyncio.wait((future, interrupt), return_when=asyncio.FIRST_COMPLETED)
        finally:
            interrupt.cancel()
        return not future.done()

    async def _say(self, reply: str, usage: Usage, first: _First) -> _Spoken:
        if self.setup.text_output:
            if self.model.audio_only:
                # TEXT output on an audio-only model: the turn never completes (M38; LiteLLM
                # PR #38573 saw the session hang).
                self.hung = True
                await asyncio.Future()
            for fragment in _FRAGMENT.findall(reply) or [reply]:
                await self.out.send(output.model_turn({"text": fragment}))
                await first.done()
            usage.response_text += text_tokens(reply)
            return _Spoken(reply)
        spoken = await self._speak(reply, first)
        usage.response_audio += audio_tokens(spoken.seconds)
        return spoken

    async def _speak(self, reply: str, first: _First) -> _Spoken:
        pcm = voice.synthesize(reply, pitch_for(self.setup.voice), output.OUTPUT_RATE)
        step = 2 * round(CHUNK_SECONDS * output.OUTPUT_RATE)
        # Each transcription fragment goes out with the audio chunk its word starts in.
        fragments = _FRAGMENT.findall(reply)
        starts: list[float] = []
        offset = 0.0
        for fragment in fragments:
            starts.append(offset)
            offset += voice.speech_seconds(fragment)
        transcribe = self.setup.output_transcription
        said: list[str] = []
        started = time.monotonic()
        sent = 0
        for index, position in enumerate(range(0, len(pcm), step)):
            factor = self.realtime_factor()
            if factor > 0:
                delay = started + index * CHUNK_SECONDS * factor - time.monotonic()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._interrupt.wait(), delay)
            if self._interrupt.is_set():
                break
            chunk_end = (position + step) / 2 / output.OUTPUT_RATE
            while len(said) < len(fragments) and starts[len(said)] < chunk_end:
                fragment = fragments[len(said)]
                said.append(fragment)
                if transcribe:
                    await self.out.send(
                        output.server_content(outputTranscription={"text": fragment})
                    )
            chunk = pcm[position : position + step]
            await self.out.send(output.model_turn(output.audio_part(chunk)))
            if self.probe is not None and not self.out.silent:
                self.probe.audio_out(id(self), len(chunk), time.monotonic_ns())
            sent += len(chunk)
            await first.done()
        interrupted = self._interrupt.is_set()
        text = "".join(said) if interrupted else reply
        return _Spoken(text, sent / 2 / output.OUTPUT_RATE, interrupted)

    async def _end_turn(
        self, spoken: _Spoken, usage: Usage, *, cancelled: list[str] | None = None
    ) -> None:
        out = self.out
        if spoken.text:
            self.state.history.append({"role": "model", "parts": [{"text": spoken.text}]})
        interrupted = spoken.interrupted or self._interrupt.is_set()
        if interrupted:
            # "interrupted > turn_complete", no generationComplete (reference §4.2).
            await out.send(output.server_content(interrupted=True))
        else:
            await out.send(output.server_content(generationComplete=True))
        await out.send(output.turn_complete(usage, self.vertex))
        if cancelled:
            await out.send(output.tool_call_cancellation(cancelled))
        if self.setup.resumption:
            # Not resumable while a tool runs (reference §3).
            handle = None if self._calls else self.handles.save(self.state)
            await out.send(output.resumption_update(handle))

    def _prompt_usage(self) -> Usage:
        """Every turn bills the whole context again, audio included (reference §9)."""
        text = text_tokens(self.setup.system_instruction)
        for entry in self.state.history:
            for part in entry["parts"]:
                if "text" in part:
                    text += text_tokens(part["text"])
                else:
                    text += text_tokens(json.dumps(part))
        return Usage(prompt_text=text, prompt_audio=audio_tokens(self.state.audio_seconds))


class _First:
    """Runs the first-output hook once per turn."""

    def __init__(self, hook: FirstOutputHook, number: int) -> None:
        self._hook = hook
        self._number = number
        self._done = False

    async def done(self) -> None:
        if not self._done:
            self._done = True
            await self._hook(self._number)
