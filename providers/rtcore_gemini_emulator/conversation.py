"""The deterministic model of one connection: turns from text or audio, replies, tools,
barge-in, transcriptions, usage and resumption handles. How audio is heard is ``hearing``'s,
how a reply is spoken ``speech``'s, and the open function calls are ``tool_calls``'."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rtcore_emulated_speech import tones
from rtcore_emulated_speech.paced import fragments
from rtcore_emulated_speech.script import Script, default_reply
from rtcore_emulated_speech.tooluse import arguments, match_tool
from rtcore_emulated_speech.vad import EnergyVad
from rtcore_emulator_kit.faults import FirstOutput, FirstOutputHook

from . import output
from .errors import invalid
from .hearing import NEVER, decode_b64, detector, end_seconds, rate_of
from .keys import camel, items, pick
from .models import Model
from .output import Outbox, Usage, audio_tokens, text_tokens
from .probe import AudioProbe
from .resumption import HandleStore, SessionState
from .setup import Function, Setup, functions_of
from .speech import Spoken, speak
from .stats import Heard, Stats, ToolCallIssued, ToolResponseReceived
from .tool_calls import OpenCalls, blocks, response_text

# The question that shows the model keeps its history (resumption restores it).
MEMORY_QUESTION = "what did i say before?"


@dataclass(slots=True)
class Turn:
    said: str
    spoken: bool = False
    # A NON_BLOCKING call's result, answered in a turn of its own.
    tool_reply: str | None = None


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
    _calls: OpenCalls = field(init=False)
    _seeding: bool = False
    turn_number: int = 0
    hung: bool = False  # a TEXT turn on an audio-only model: it never completes

    def __post_init__(self) -> None:
        self._seeding = self.setup.initial_history_in_client_content
        self._calls = OpenCalls(self.vertex)

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
            call_id, call = self._calls.answering(response)
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
                self._calls.close(call_id)
                if not call.future.done():
                    call.future.set_result(text)
                continue
            if not pick(response, "willContinue", False):
                self._calls.close(call_id)
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
        rate = rate_of(mime)
        if self.setup.activity.automatic:
            vad = self._vad
            if vad is None or vad.sample_rate != rate:
                vad = self._vad = detector(
                    self.setup.activity, rate, end_seconds(self.setup.activity)
                )
            result = vad.feed(pcm)
            if result.speech_started:
                self._user_activity()
            if result.turn is not None:
                self._spoken_turn(tones.detect_slot(result.turn, rate), result.turn_seconds)
        elif self._in_activity:
            vad = self._vad
            if vad is None or vad.sample_rate != rate:
                vad = self._vad = detector(self.setup.activity, rate, NEVER)
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
        first = FirstOutput(self.first_output, number)
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

    async def _call(
        self, function: Function, said: str, usage: Usage, first: FirstOutput
    ) -> str | None:
        """Call ``function``; the reply to speak after a blocking call's result, or None when
        the turn is over (a NON_BLOCKING call, or a blocking one the user interrupted)."""
        args = arguments(function, said)
        call_id, future = self._calls.issue(function.name, blocks(self.model, function))
        self.stats.tool_calls.append(ToolCallIssued(self.connection, call_id, function.name, args))
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
            await self._end_turn(Spoken(""), usage)
            return None
        # A blocking call: no turnComplete until its response (reference §4.4).
        interrupted = await self._wait(future)
        if interrupted:
            self._calls.close(call_id)
            await self._end_turn(Spoken("", interrupted=True), usage, cancelled=[call_id])
            return None
        result = future.result()
        usage.prompt_text += text_tokens(result)
        return self.script.after_tool(function.name, result)

    async def _wait(self, future: asyncio.Future[str]) -> bool:
        """Wait for ``future``; True if the user interrupted first."""
        interrupt = asyncio.ensure_future(self._interrupt.wait())
        try:
            await asyncio.wait((future, interrupt), return_when=asyncio.FIRST_COMPLETED)
        finally:
            interrupt.cancel()
        return not future.done()

    async def _say(self, reply: str, usage: Usage, first: FirstOutput) -> Spoken:
        if self.setup.text_output:
            if self.model.audio_only:
                # TEXT output on an audio-only model: the turn never completes (M38; LiteLLM
                # PR #38573 saw the session hang).
                self.hung = True
                await asyncio.Future()
            for fragment in fragments(reply) or [reply]:
                await self.out.send(output.model_turn({"text": fragment}))
                await first.done()
            usage.response_text += text_tokens(reply)
            return Spoken(reply)
        spoken = await speak(
            reply,
            voice_name=self.setup.voice,
            transcribe=self.setup.output_transcription,
            out=self.out,
            first=first,
            realtime_factor=self.realtime_factor,
            interrupt=self._interrupt,
            probe=self.probe,
            stream=id(self),
        )
        usage.response_audio += audio_tokens(spoken.seconds)
        return spoken

    async def _end_turn(
        self, spoken: Spoken, usage: Usage, *, cancelled: list[str] | None = None
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
            handle = None if self._calls.pending else self.handles.save(self.state)
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
