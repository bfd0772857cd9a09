"""The deterministic conversational model: turns from audio or text, replies, tools, barge-in."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rtcore_emulated_speech import tones
from rtcore_emulated_speech.script import Script, default_reply
from rtcore_emulated_speech.tooluse import arguments, match_tool
from rtcore_emulated_speech.vad import EnergyVad

from . import voice
from .output import INTERRUPTED_MARKER, Emitter, Usage, speech_tokens, text_tokens
from .probe import AudioProbe
from .typed import PendingText
from .validation import Content, Validator

# Endpointing: seconds of silence that end a user turn.
ENDPOINT_SECONDS = {"HIGH": 1.5, "MEDIUM": 1.75, "LOW": 2.0}
V1_ENDPOINT_SECONDS = 1.5
NOVA2_DEFAULT_SENSITIVITY = "MEDIUM"
AUDIO_CHUNK_SECONDS = 0.08


@dataclass(frozen=True, slots=True)
class Turn:
    transcript: str
    spoken: bool
    input_seconds: float = 0.0
    # What the reply answers when it is not the transcript (v1 typed text, see typed.py).
    answers: str | None = None
    # Nova 2's answer to a tool result that arrived while the conversation went on: the
    # reply to speak, and its input tokens (no user turn of its own).
    tool_reply: str | None = None
    tool_tokens: int = 0


@dataclass(slots=True)
class Received:
    """What one stream was sent, for tests to check what a client told the model: its
    voice, tools and inference settings, and every text block in order (the system prompt,
    history, live text) as (role, interactive, text)."""

    model_id: str
    voice: str = ""
    tools: list[str] = field(default_factory=list)
    inference: dict[str, Any] = field(default_factory=dict)
    texts: list[tuple[str, bool, str]] = field(default_factory=list)
    # Nova 2's endpointingSensitivity, if sent; the sample rate of the audio input.
    sensitivity: str | None = None
    input_rate: int = 0
    # The audio it was sent (bytes), and every spoken turn it heard: (tone slot or None,
    # voiced seconds), so a test can count the speech that reached the model.
    audio_bytes: int = 0
    heard: list[tuple[int | None, float]] = field(default_factory=list)

    def said(self, role: str) -> list[str]:
        return [text for r, _, text in self.texts if r == role]


# Called with the 1-based response number once its first audio chunk is out; faults use it.
type FirstAudioHook = Callable[[int], Awaitable[None]]


class Conversation:
    def __init__(
        self,
        validator: Validator,
        emitter: Emitter,
        script: Script,
        *,
        # Read per chunk, so a test can change the pace of a live stream.
        realtime_factor: Callable[[], float],
        endpoint_override: float | None,
        first_audio: FirstAudioHook,
        probe: AudioProbe | None = None,
        received: Received | None = None,
        # Called with a reply's number once its spoken turn is taken (the USER transcript
        # sent), before it is answered.
        taken: FirstAudioHook | None = None,
    ) -> None:
        self._taken = taken
        self.received = received or Received(model_id=validator.model.model_id)
        self._validator = validator
        self._emit = emitter
        self._script = script
        self._factor = realtime_factor
        self._endpoint_override = endpoint_override
        self._first_audio = first_audio
        self._probe = probe
        self._turns: asyncio.Queue[Turn] = asyncio.Queue()
        self._vad: EnergyVad | None = None
        self._last_audio = 0.0
        self._texts: dict[str, list[str]] = {}
        self._tool_results: dict[str, asyncio.Future[str]] = {}
        # Nova 2's tool calls in flight (each waits for its result in the background).
        self._waiting_tools: set[asyncio.Future[None]] = set()
        self._tool_text: dict[str, list[str]] = {}
        self._speaking_until = 0.0
        self._interrupt = False
        self._speech = asyncio.Event()  # set when the VAD hears speech start
        self._pending_input = Usage()
        self._typed = PendingText()
        self._audio_ms = 0.0  # of user audio received
        self.signals: list[tuple[str, dict[str, int]]] = []
        self.silent = False  # a stalled stream says nothing more
        self.responses = 0

    @property
    def endpoint_seconds(self) -> float:
        if self._endpoint_override is not None:
            return self._endpoint_override
        if not self._validator.model.nova2:
            return V1_ENDPOINT_SECONDS
        return ENDPOINT_SECONDS[self._validator.sensitivity or NOVA2_DEFAULT_SENSITIVITY]

    # Input side: called by the stream reader for each validated event.
    def on_event(self, name: str, body: dict[str, Any], content: Content | None) -> None:
        if name == "sessionStart":
            self.received.inference = dict(body.get("inferenceConfiguration", {}))
            self.received.sensitivity = self._validator.sensitivity
        elif name == "promptStart":
            self._emit.prompt_name = body["promptName"]
            self.received.voice = self._validator.voice
            self.received.tools = [tool.name for tool in self._validator.tools]
        elif name == "contentStart" and content is not None:
            if content.type == "AUDIO":
                self._vad = EnergyVad(content.sample_rate, self.endpoint_seconds)
                self.received.input_rate = content.sample_rate
            elif content.type == "TEXT":
                self._texts[content.name] = []
            else:
                self._tool_text[content.name] = []
        elif name == "textInput":
            self._texts[body["contentName"]].append(body["content"])
        elif name == "toolResult":
            self._tool_text[body["contentName"]].append(body["content"])
        elif name == "audioInput":
            self._on_audio(body["content"])
        elif name == "contentEnd" and content is not None:
            self._on_content_end(content)

    def _on_audio(self, content: str | bytes) -> None:
        vad = self._vad
        if vad is None:
            return
        arrived = time.monotonic_ns() if self._probe is not None else 0
        if isinstance(content, bytes):
            pcm = content  # the wire's typed audioInput, already decoded (wire.AudioInput)
        else:
            try:
                pcm = base64.b64decode(content, validate=True)
            except ValueError:
                return
        if self._probe is not None:
            self._probe.audio_in(id(self), pcm, arrived)
        self._last_audio = time.monotonic()
        self.received.audio_bytes += len(pcm)
        start_ms = self._audio_ms
        self._audio_ms += len(pcm) / 2 / vad.sample_rate * 1000
        result = vad.feed(pcm)
        if result.speech_started:
            self._speech.set()
            if time.monotonic() < self._speaking_until:
                self._interrupt = True
            if self._validator.model.nova2:
                self._signal("userSpeechStart", inputAudioOffsetMs=round(start_ms))
        if result.turn is not None and self._validator.model.nova2:
            at = round(self._audio_ms)
            self._signal("userSpeechEnd", inputAudioOffsetMs=at, inputAudioDetectionOffsetMs=at)
        if result.turn is not None:
            slot = tones.detect_slot(result.turn, vad.sample_rate)
            self._turns.put_nowait(self._spoken_turn(slot, result.turn_seconds))

    def _signal(self, name: str, **fields: int) -> None:
        # Nova 2 reports the user's speech as it hears it, outside any completion (LiteLLM
        # issue 38346's capture): sent by the input loop right after the audio event.
        self.signals.append((name, fields))

    async def send_signals(self) -> None:
        signals, self.signals = self.signals, []
        if not self.silent:
            for name, fields in signals:
                await self._emit.user_speech(name, fields)

    def _on_content_end(self, content: Content) -> None:
        if content.type == "TEXT":
            text = "".join(self._texts.pop(content.name, []))
            self.received.texts.append((content.role, content.interactive, text))
            self._pending_input.input_text += text_tokens(text)
            # Nova 2 answers live (interactive) user text; v1 only takes text as context.
            if content.role == "USER" and content.interactive and self._validator.model.nova2:
                self._turns.put_nowait(Turn(text, False))
            elif not self._validator.model.nova2:
                self._typed.on_text(content.role, text)
        elif content.type == "TOOL":
            result = "".join(self._tool_text.pop(content.name, []))
            future = self._tool_results.get(content.tool_use_id)
            if future is not None and not future.done():
                future.set_result(result)
        elif content.type == "AUDIO" and self._vad is not None:
            self._finish_turn()

    def _finish_turn(self) -> None:
        if self._vad is not None:
            result = self._vad.flush()
            if result.turn is not None:
                slot = tones.detect_slot(result.turn, self._vad.sample_rate)
                self._turns.put_nowait(self._spoken_turn(slot, result.turn_seconds))

    def _spoken_turn(self, slot: int | None, seconds: float) -> Turn:
        self.received.heard.append((slot, seconds))
        answers = self._typed.take(slot, seconds)
        return Turn(self._script.transcript(slot), True, seconds, answers)

    async def watch_idle(self) -> None:
        """End a turn on wall-clock silence when the client stops sending audio mid-turn."""
        # One timer per turn (re-armed as audio keeps coming), not a poll per stream: with
        # hundreds of streams, polling every 100 ms cost as much as their audio.
        while True:
            vad = self._vad
            if vad is None or not vad.in_speech:
                self._speech.clear()
                await self._speech.wait()
                continue
            remaining = self._last_audio + self.endpoint_seconds - time.monotonic()
            if remaining > 0:
                await asyncio.sleep(remaining)
            else:
                self._finish_turn()

    # Output side.
    async def run(self) -> None:
        try:
            while True:
                turn = await self._turns.get()
                await self._respond(turn)
        finally:
            for waiting in self._waiting_tools:
                waiting.cancel()

    async def _answer_when_done(
        self, name: str, tool_use_id: str, future: asyncio.Future[str]
    ) -> None:
        try:
            result = await future
        finally:
            del self._tool_results[tool_use_id]
        reply = self._script.after_tool(name, result)
        self._turns.put_nowait(Turn("", False, tool_reply=reply, tool_tokens=text_tokens(result)))

    async def _respond(self, turn: Turn) -> None:
        self.responses += 1
        number = self.responses
        completion = str(uuid.uuid4())
        emit = self._emit
        await emit.completion_start(completion)
        if turn.tool_reply is not None:
            await emit.usage_event(completion, Usage(input_text=turn.tool_tokens))
            await self._speak(completion, turn.tool_reply, number)
            return
        delta = self._pending_input
        self._pending_input = Usage()
        if turn.spoken:
            delta.input_speech += speech_tokens(turn.input_seconds)
            content = await emit.content_start(completion, "TEXT", "USER", stage="FINAL")
            await emit.text(completion, content, "USER", turn.transcript)
            await emit.content_end(completion, content, "TEXT", "PARTIAL_TURN")
            if self._taken is not None:
                await self._taken(number)
        await emit.usage_event(completion, delta)
        said = turn.answers or turn.transcript
        reply = self._script.scripted_reply(said)
        tool = None if reply is not None else match_tool(self._validator.tools, said)
        if tool is not None:
            tool_use_id = str(uuid.uuid4())
            future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self._tool_results[tool_use_id] = future
            self._validator.pending_tool_uses.add(tool_use_id)
            args = json.dumps(arguments(tool, said))
            content = await emit.content_start(completion, "TOOL", "TOOL")
            await emit.tool_use(completion, content, tool.name, tool_use_id, args)
            await emit.content_end(completion, content, "TOOL", "TOOL_USE")
            await emit.usage_event(completion, Usage(output_text=text_tokens(args)))
            if self._validator.model.nova2:
                # Nova 2 calls tools asynchronously: the completion ends here and the model
                # keeps listening and answering; the result, whenever it comes, gets a
                # completion of its own (the AWS Nova 2 user guide, async tools).
                await emit.completion_end(completion, "END_TURN")
                waiting = asyncio.ensure_future(
                    self._answer_when_done(tool.name, tool_use_id, future)
                )
                self._waiting_tools.add(waiting)
                waiting.add_done_callback(self._waiting_tools.discard)
                return
            try:
                result = await future
            finally:
                del self._tool_results[tool_use_id]
            await emit.usage_event(completion, Usage(input_text=text_tokens(result)))
            reply = self._script.after_tool(tool.name, result)
        elif reply is None:
            reply = default_reply(said)
        await self._speak(completion, reply, number)

    async def _speak(self, completion: str, reply: str, number: int) -> None:
        emit = self._emit
        rate = self._validator.output_rate
        content = await emit.content_start(completion, "TEXT", "ASSISTANT", stage="SPECULATIVE")
        await emit.text(completion, content, "ASSISTANT", reply)
        await emit.content_end(completion, content, "TEXT", "PARTIAL_TURN")
        pcm = voice.synthesize(reply, self._validator.voice, rate)
        step = 2 * round(AUDIO_CHUNK_SECONDS * rate)
        content = await emit.content_start(completion, "AUDIO", "ASSISTANT", sample_rate=rate)
        self._interrupt = False
        started = time.monotonic()
        # Barge-in is possible while the paced audio is still going out; at realtime_factor 0
        # the whole reply is sent at once and cannot be interrupted.
        self._speaking_until = started + len(pcm) / 2 / rate * self._factor()
        sent = 0
        try:
            for index, offset in enumerate(range(0, len(pcm), step)):
                factor = self._factor()
                if factor > 0:
                    due = started + index * AUDIO_CHUNK_SECONDS * factor
                    delay = due - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                if self._interrupt:
                    break
                chunk = pcm[offset : offset + step]
                await emit.audio(completion, content, base64.b64encode(chunk).decode("ascii"))
                if self._probe is not None:
                    self._probe.audio_out(id(self), len(chunk), time.monotonic_ns())
                sent += len(chunk)
                if index == 0:
                    await self._first_audio(number)
        finally:
            self._speaking_until = 0.0
        interrupted = self._interrupt
        self._interrupt = False
        stop = "INTERRUPTED" if interrupted else "END_TURN"
        await emit.content_end(completion, content, "AUDIO", stop)
        content = await emit.content_start(completion, "TEXT", "ASSISTANT", stage="FINAL")
        await emit.text(
            completion, content, "ASSISTANT", INTERRUPTED_MARKER if interrupted else reply
        )
        await emit.content_end(completion, content, "TEXT", stop)
        spoken_seconds = sent / 2 / rate
        await emit.usage_event(
            completion,
            Usage(output_speech=speech_tokens(spoken_seconds), output_text=text_tokens(reply)),
        )
        await emit.completion_end(completion, stop)
