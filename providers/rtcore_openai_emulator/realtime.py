"""The deterministic model behind one connection: the session, the conversation, input audio
with server VAD, responses (in the conversation or out of band), tools and barge-in."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rtcore_emulated_speech import tones
from rtcore_emulated_speech.script import Script
from rtcore_emulated_speech.vad import EnergyVad

from .audio import AudioFormat
from .errors import ClientError, error_event
from .ids import new_id
from .items import Conversation, Entry, Meta, context_of, decode_audio, normalise, said_of
from .mcp_tools import McpServers
from .outbox import Outbox
from .probe import AudioProbe
from .reply import decide
from .responses import Plan, Speaker
from .session_config import SessionConfig
from .session_fields import (
    RESPONSE_FIELDS,
    format_of,
    max_tokens_of,
    modalities_of,
    tool_choice_of,
    tools_of,
    voice_of,
)
from .stats import Heard, SessionUpdate, Stats, ToolOutput
from .tokens import (
    TOKENS_PER_MINUTE_LIMIT,
    Usage,
    input_audio_tokens,
    text_tokens,
)
from .vendors import Vendor

log = logging.getLogger(__name__)

# Silence that ends a turn under semantic VAD, by eagerness: the emulator's figures, each
# below the 2.1 s that ends every tone-coded utterance.
EAGERNESS_SECONDS = {"high": 0.5, "medium": 0.8, "auto": 0.8, "low": 1.5}
VAD_SLICE_SECONDS = 0.02
MIN_COMMIT_MS = 100
_NEVER = 1e9

# Called with the 1-based response number; may raise to refuse or break the response.
type ResponseHook = Callable[[int], Awaitable[None]]


@dataclass
class Hooks:
    """Where faults reach in: before a response starts and after its first output."""

    before_response: ResponseHook
    first_output: ResponseHook


@dataclass
class _Input:
    """The input audio buffer and its detector (reference §3.3)."""

    format: AudioFormat
    buffer: bytearray = field(default_factory=bytearray)
    samples: int = 0  # all audio heard this session, for audio_start_ms / audio_end_ms
    vad: EnergyVad | None = None
    item_id: str | None = None  # the item of the speech in progress
    start_ms: int = 0

    @property
    def ms(self) -> int:
        return int(self.samples * 1000 / self.format.sample_rate)

    def buffered_ms(self) -> int:
        return int(len(self.buffer) / 2 * 1000 / self.format.sample_rate)


class Realtime:
    def __init__(
        self,
        *,
        config: SessionConfig,
        out: Outbox,
        script: Script,
        stats: Stats,
        connection: int,
        realtime_factor: Callable[[], float],
        hooks: Hooks,
        probe: AudioProbe | None = None,
    ) -> None:
        self.config = config
        self.vendor = config.vendor
        self.out = out
        self.script = script
        self.stats = stats
        self.connection = connection
        self.hooks = hooks
        self.probe = probe
        self.conversation = Conversation()
        self.mcp = McpServers(out, self._add_response_item)
        self._input = _Input(config.input_format)
        self._speaker = Speaker(
            out,
            realtime_factor,
            hooks.first_output,
            self._add_response_item,
            usage_on_done=self.vendor is not Vendor.XAI,
            item_done_events=self.vendor is not Vendor.XAI,
            probe=probe,
            stream=connection,
            sent=stats.audio_out,
            mcp=self.mcp,
        )
        self._active: tuple[Plan, asyncio.Task[None]] | None = None
        self._out_of_band: set[asyncio.Task[None]] = set()
        self._waiting: set[asyncio.Task[None]] = set()
        self._responses = 0
        self._previous_input = (0, 0)  # (text, audio) tokens of the last response's context
        self._tokens_used = 0

    # Session.
    async def on_session_update(self, event: dict[str, Any]) -> None:
        session = event.get("session")
        self.stats.session_updates.append(
            SessionUpdate(self.connection, self.vendor.value, copy.deepcopy(session))
            if isinstance(session, dict)
            else SessionUpdate(self.connection, self.vendor.value, {})
        )
        self.config.update(session)
        if self.config.input_format != self._input.format:
            self._input = _Input(self.config.input_format, samples=0)
        self._input.vad = None  # rebuilt with the new settings by the next append
        await self.out.send("session.updated", session=self.config.wire())
        await self.mcp.configure(self.config.tools)

    # Input audio.
    async def on_append(self, event: dict[str, Any]) -> None:
        raw = decode_audio(event.get("audio"), "audio")
        await self.hear(raw)

    async def hear(self, raw: bytes) -> None:
        arrived = time.monotonic_ns() if self.probe is not None else 0
        self.stats.audio_in.add(raw)
        state = self._input
        pcm = state.format.decode(raw)
        if self.probe is not None:
            self.probe.audio_in(self.connection, pcm, arrived)
        state.buffer.extend(pcm)
        detection = self.config.turn_detection
        if detection is None:
            state.samples += len(pcm) // 2
            return
        if state.vad is None:
            state.vad = self._new_vad(state.format.sample_rate, detection)
        step = 2 * max(1, round(VAD_SLICE_SECONDS * state.format.sample_rate))
        for position in range(0, len(pcm), step):
            piece = pcm[position : position + step]
            state.samples += len(piece) // 2
            result = state.vad.feed(piece)
            if result.speech_started:
                await self._speech_started(detection)
            if result.turn is not None:
                slot = tones.detect_slot(result.turn, state.format.sample_rate)
                await self._speech_stopped(slot, result.turn_seconds, detection)
            elif state.item_id is not None and not state.vad.in_speech:
                # Too short a burst to be a turn: heard as speech that is no code.
                await self._speech_stopped(None, 0.0, detection)

    def _new_vad(self, rate: int, detection: dict[str, Any]) -> EnergyVad:
        if detection.get("type") == "semantic_vad":
            endpoint = EAGERNESS_SECONDS.get(str(detection.get("eagerness")), 0.8)
        else:
            endpoint = max(0.02, int(detection.get("silence_duration_ms") or 0) / 1000)
        return EnergyVad(rate, endpoint)

    async def _speech_started(self, detection: dict[str, Any]) -> None:
        state = self._input
        state.item_id = new_id("item_")
        padding = int(detection.get("prefix_padding_ms") or 0)
        onset_ms = int(state.vad.onset_seconds * 1000) if state.vad is not None else 0
        state.start_ms = max(0, state.ms - onset_ms - padding)
        await self.out.send(
            "input_audio_buffer.speech_started",
            audio_start_ms=state.start_ms,
            item_id=state.item_id,
        )
        if detection.get("interrupt_response", True) and self._active is not None:
            await self.cancel_active("turn_detected")

    async def _speech_stopped(
        self, slot: int | None, seconds: float, detection: dict[str, Any]
    ) -> None:
        state = self._input
        item_id = state.item_id or new_id("item_")
        state.item_id = None
        end_ms = state.ms
        await self.out.send(
            "input_audio_buffer.speech_stopped", audio_end_ms=end_ms, item_id=item_id
        )
        await self._commit(item_id, slot, seconds, (end_ms - state.start_ms) / 1000)
        if detection.get("create_response", True):
            await self._auto_response()

    async def on_commit(self, event: dict[str, Any]) -> None:
        state = self._input
        if not state.buffer:
            raise ClientError(
                "Error committing input audio buffer: the buffer is empty.",
                code="input_audio_buffer_commit_empty",
            )
        if state.buffered_ms() < MIN_COMMIT_MS:
            raise ClientError(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {state.buffered_ms()}ms of "
                "audio.",
                code="input_audio_buffer_commit_empty",
            )
        vad = EnergyVad(state.format.sample_rate, _NEVER)
        vad.feed(bytes(state.buffer))
        result = vad.flush()
        slot = (
            tones.detect_slot(result.turn, state.format.sample_rate)
            if result.turn is not None
            else None
        )
        item_id = state.item_id or new_id("item_")
        state.item_id = None
        state.vad = None
        await self._commit(item_id, slot, result.turn_seconds, state.buffered_ms() / 1000)

    async def on_clear(self, event: dict[str, Any]) -> None:
        self._input.buffer.clear()
        self._input.vad = None
        self._input.item_id = None
        await self.out.send("input_audio_buffer.cleared")

    async def _commit(self, item_id: str, slot: int | None, voiced: float, seconds: float) -> None:
        """The buffer becomes a user item (reference §3.3): committed, item added/done, and
        the input transcription when the session asks for one."""
        self._input.buffer.clear()
        self.stats.heard.append(Heard(self.connection, slot, voiced))
        said = self.script.transcript(slot)
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        entry = Entry(item, Meta(said=said, audio_seconds=max(0.0, seconds)))
        previous = self.conversation.add(entry)
        await self.out.send(
            "input_audio_buffer.committed", previous_item_id=previous, item_id=item_id
        )
        await self.out.send(
            "conversation.item.added", previous_item_id=previous, item=copy.deepcopy(item)
        )
        if self.vendor is not Vendor.XAI:
            await self.out.send("conversation.item.done", item=copy.deepcopy(item))
        if self.config.transcription is not None:
            await self._transcribe(entry, said, seconds)

    async def _transcribe(self, entry: Entry, said: str, seconds: float) -> None:
        item_id = entry.item["id"]
        words = said.split(" ")
        sofar = ""
        for index, word in enumerate(words):
            piece = word if index == len(words) - 1 else word + " "
            sofar += piece
            if self.vendor is Vendor.XAI:
                # xAI's transcript is cumulative and may be revised (reference §2).
                await self.out.send(
                    "conversation.item.input_audio_transcription.updated",
                    item_id=item_id,
                    content_index=0,
                    transcript=sofar,
                )
            else:
                await self.out.send(
                    "conversation.item.input_audio_transcription.delta",
                    item_id=item_id,
                    content_index=0,
                    delta=piece,
                )
        entry.item["content"][0]["transcript"] = said
        audio = input_audio_tokens(seconds)
        out_tokens = text_tokens(said)
        await self.out.send(
            "conversation.item.input_audio_transcription.completed",
            item_id=item_id,
            content_index=0,
            transcript=said,
            usage={
                "type": "tokens",
                "total_tokens": audio + out_tokens,
                "input_tokens": audio,
                "input_token_details": {"text_tokens": 0, "audio_tokens": audio},
                "output_tokens": out_tokens,
            },
        )

    # Conversation items.
    async def on_item_create(self, event: dict[str, Any]) -> None:
        item = normalise(event.get("item"))
        meta = Meta(said=said_of(item))
        for index, part in enumerate(item.get("content") or []):
            if part.get("type") == "input_audio" and part.get("audio") is not None:
                meta.said, meta.audio_seconds = self._listen(part["audio"], index)
                part.pop("audio")
                part.setdefault("transcript", None)
        if item["type"] == "mcp_approval_response" and self.mcp.answered(item) is None:
            raise ClientError(
                f"Invalid 'item.approval_request_id': no approval request "
                f"'{item['approval_request_id']}' is waiting.",
                param="item.approval_request_id",
            )
        if item["type"] == "function_call_output":
            self.stats.tool_outputs.append(
                ToolOutput(self.connection, str(item["call_id"]), str(item["output"]))
            )
        previous = self.conversation.add(Entry(item, meta), event.get("previous_item_id"))
        await self.out.send(
            "conversation.item.added", previous_item_id=previous, item=copy.deepcopy(item)
        )
        if self.vendor is not Vendor.XAI:
            await self.out.send("conversation.item.done", item=copy.deepcopy(item))
        if item["type"] == "mcp_approval_response":
            await self._auto_response()  # the call runs, or the model says it did not

    def _listen(self, data: Any, index: int) -> tuple[str, float]:
        """What an ``input_audio`` content part says (the tone code) and how long it is."""
        fmt = self.config.input_format
        pcm = fmt.decode(decode_audio(data, f"item.content[{index}].audio"))
        vad = EnergyVad(fmt.sample_rate, _NEVER)
        vad.feed(pcm)
        result = vad.flush()
        slot = tones.detect_slot(result.turn, fmt.sample_rate) if result.turn is not None else None
        self.stats.heard.append(Heard(self.connection, slot, result.turn_seconds))
        return self.script.transcript(slot), len(pcm) / 2 / fmt.sample_rate

    async def on_item_delete(self, event: dict[str, Any]) -> None:
        item_id = event.get("item_id")
        self.conversation.delete(item_id)
        await self.out.send("conversation.item.deleted", item_id=item_id)

    async def on_item_retrieve(self, event: dict[str, Any]) -> None:
        item_id = event.get("item_id")
        entry = self.conversation.find(item_id)
        if entry is None:
            raise ClientError(
                f"Error retrieving item: the item with id '{item_id}' does not exist.",
                param="item_id",
            )
        await self.out.send("conversation.item.retrieved", item=copy.deepcopy(entry.item))

    async def on_item_truncate(self, event: dict[str, Any]) -> None:
        """Cut an assistant audio item at ``audio_end_ms``; the unheard transcript goes with
        it (reference §3.5)."""
        item_id = event.get("item_id")
        entry = self.conversation.find(item_id)
        if entry is None:
            raise ClientError(
                f"Error truncating item: the item with id '{item_id}' does not exist.",
                param="item_id",
            )
        content_index = event.get("content_index", 0)
        end_ms = event.get("audio_end_ms")
        content = entry.item.get("content") or []
        if (
            entry.item.get("role") != "assistant"
            or not isinstance(content_index, int)
            or not 0 <= content_index < len(content)
            or content[content_index].get("type") != "output_audio"
        ):
            raise ClientError(
                "Error truncating item: only an assistant message's audio content can be "
                "truncated.",
                param="content_index",
            )
        if not isinstance(end_ms, int) or end_ms < 0:
            raise ClientError(
                "Invalid 'audio_end_ms': expected a non-negative integer.", param="audio_end_ms"
            )
        length_ms = int(entry.meta.audio_seconds * 1000)
        if end_ms > length_ms:
            raise ClientError(
                f"Audio content of {length_ms}ms is already shorter than {end_ms}ms",
                param="audio_end_ms",
            )
        heard = "".join(text for start, text in entry.meta.fragments if start * 1000 < end_ms)
        content[content_index]["transcript"] = heard
        entry.meta.said = heard
        entry.meta.audio_seconds = end_ms / 1000
        entry.meta.fragments = [(s, t) for s, t in entry.meta.fragments if s * 1000 < end_ms]
        await self.out.send(
            "conversation.item.truncated",
            item_id=item_id,
            content_index=content_index,
            audio_end_ms=end_ms,
        )

    # Responses.
    async def on_response_create(self, event: dict[str, Any]) -> None:
        options = event.get("response") or {}
        if not isinstance(options, dict):
            raise ClientError("Invalid type for 'response': expected an object.", param="response")
        self.stats.response_creates.append(options)
        for key in options:
            if key not in RESPONSE_FIELDS:
                raise ClientError(
                    f"Unknown parameter: 'response.{key}'.",
                    code="unknown_parameter",
                    param=f"response.{key}",
                )
        conversation = options.get("conversation", "auto")
        if conversation not in ("auto", "none"):
            raise ClientError(
                "Invalid 'response.conversation': expected 'auto' or 'none'.",
                param="response.conversation",
            )
        in_conversation = conversation == "auto"
        if in_conversation and self._active is not None:
            raise ClientError(
                "Conversation already has an active response in progress: "
                f"{self._active[0].id}. Wait until the response is finished before creating "
                "a new one.",
                code="conversation_already_has_active_response",
            )
        plan = self._plan(options, in_conversation)
        await self._start(plan, in_conversation)

    async def _auto_response(self) -> None:
        if self._active is not None:
            # interrupt_response false: the new turn is answered after the running one,
            # while the input goes on being heard.
            task = asyncio.create_task(self._auto_response_after(self._active[1]))
            self._waiting.add(task)
            task.add_done_callback(self._waiting.discard)
            return
        await self._start_auto()

    async def _auto_response_after(self, running: asyncio.Task[None]) -> None:
        await asyncio.gather(running, return_exceptions=True)
        while self._active is not None:
            await asyncio.gather(self._active[1], return_exceptions=True)
        await self._start_auto()

    async def _start_auto(self) -> None:
        try:
            await self._start(self._plan({}, True), True)
        except ClientError as error:
            await self.out.send_raw(error_event(error))

    def _plan(self, options: dict[str, Any], in_conversation: bool) -> Plan:
        config = self.config
        modalities = config.output_modalities
        if "output_modalities" in options:
            modalities = modalities_of(options["output_modalities"], "response.output_modalities")
        elif "modalities" in options and self.vendor is Vendor.XAI:
            given = options["modalities"]
            modalities = ["audio"] if isinstance(given, list) and "audio" in given else ["text"]
        audio = options.get("audio") or {}
        output = audio.get("output", {}) if isinstance(audio, dict) else {}
        voice = config.voice
        fmt = config.output_format
        if "voice" in output:
            voice = voice_of(output["voice"], "response.audio.output.voice", self.vendor)
        if "format" in output:
            fmt = format_of(output["format"], "response.audio.output.format", self.vendor)
        tools = config.tools
        if "tools" in options:
            tools = tools_of(options["tools"], "response.tools", self.vendor)
        tool_choice = config.tool_choice
        if "tool_choice" in options:
            tool_choice = tool_choice_of(options["tool_choice"], "response.tool_choice")
        max_tokens = config.max_output_tokens
        if "max_output_tokens" in options:
            max_tokens = max_tokens_of(options["max_output_tokens"], "response.max_output_tokens")
        instructions = config.instructions
        if "instructions" in options:
            if not isinstance(options["instructions"], str):
                raise ClientError(
                    "Invalid 'response.instructions': expected a string.",
                    param="response.instructions",
                )
            instructions = options["instructions"]
        metadata = options.get("metadata")
        if metadata is not None and (not isinstance(metadata, dict) or len(metadata) > 16):
            raise ClientError(
                "Invalid 'response.metadata': expected an object of at most 16 keys.",
                param="response.metadata",
            )
        context = context_of(self.conversation, options.get("input"))
        usage = self._input_usage(context, instructions, tools, in_conversation)
        self._responses += 1
        return Plan(
            id=new_id("resp_"),
            number=self._responses,
            in_conversation=in_conversation,
            conversation_id=self.conversation.id if in_conversation else None,
            metadata=metadata,
            instructions=instructions,
            modalities=modalities,
            voice=voice,
            output_format=fmt,
            max_output_tokens=max_tokens,
            reply=decide(context, self.script, tools, tool_choice, self.mcp.offered()),
            usage=usage,
        )

    def _input_usage(
        self,
        context: list[Entry],
        instructions: str,
        tools: list[dict[str, Any]],
        in_conversation: bool,
    ) -> Usage:
        """Every response reads its whole context again (reference §4, accounting); what the
        previous response of the conversation read is reported as cached."""
        text = text_tokens(instructions) + (text_tokens(json.dumps(tools)) if tools else 0)
        audio = 0
        for entry in context:
            if entry.meta.audio_seconds > 0:
                audio += input_audio_tokens(entry.meta.audio_seconds)
            else:
                text += text_tokens(entry.meta.said or said_of(entry.item))
        usage = Usage(input_text=text, input_audio=audio)
        if in_conversation:
            previous_text, previous_audio = self._previous_input
            usage.cached_text = min(previous_text, text)
            usage.cached_audio = min(previous_audio, audio)
            self._previous_input = (text, audio)
        return usage

    async def _start(self, plan: Plan, in_conversation: bool) -> None:
        await self.hooks.before_response(plan.number)
        self.stats.responses += 1
        await self._speaker.created(plan)
        task = asyncio.create_task(self._run(plan))
        task.add_done_callback(_collect)
        if in_conversation:
            self._active = (plan, task)
        else:
            self._out_of_band.add(task)
            task.add_done_callback(self._out_of_band.discard)

    async def _run(self, plan: Plan) -> None:
        try:
            await self._speaker.run(plan)
            if self.vendor is not Vendor.XAI:
                await self._rate_limits(plan)
        finally:
            if self._active is not None and self._active[0] is plan:
                self._active = None
        if plan.status == "completed" and any(i["type"] == "mcp_call" for i in plan.output):
            await self._start_auto()  # the model speaks of the call's output

    async def _rate_limits(self, plan: Plan) -> None:
        """``rate_limits.updated`` after each ``response.done`` (reference §3.7)."""
        used = plan.usage.input_tokens + plan.usage.output_tokens
        self._tokens_used += used
        remaining = max(0, TOKENS_PER_MINUTE_LIMIT - used)
        await self.out.send(
            "rate_limits.updated",
            rate_limits=[
                {
                    "name": "tokens",
                    "limit": TOKENS_PER_MINUTE_LIMIT,
                    "remaining": remaining,
                    "reset_seconds": round(60.0 * used / TOKENS_PER_MINUTE_LIMIT, 3),
                }
            ],
        )

    def _add_response_item(self, entry: Entry) -> str | None:
        return self.conversation.add(entry)

    async def on_response_cancel(self, event: dict[str, Any]) -> None:
        wanted = event.get("response_id")
        if self._active is None or (wanted is not None and wanted != self._active[0].id):
            raise ClientError(
                "Cancellation failed: no active response found.",
                code="response_cancel_not_active",
            )
        await self.cancel_active("client_cancelled")

    async def cancel_active(self, reason: str) -> None:
        if self._active is None:
            return
        plan, task = self._active
        plan.cancel_reason = reason
        plan.cancel.set()
        await asyncio.shield(task)

    async def fail_active(self) -> None:
        """A server fault mid-response: the response ends ``failed``."""
        if self._active is None:
            return
        plan, _ = self._active
        plan.status = "failed"
        plan.status_details = {
            "type": "failed",
            "error": {"type": "server_error", "code": "server_error", "message": "server_error"},
        }
        plan.cancel_reason = "failed"
        plan.cancel.set()

    async def close(self) -> None:
        tasks = [*self._out_of_band, *self._waiting]
        if self._active is not None:
            tasks.append(self._active[1])
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _collect(task: asyncio.Task[None]) -> None:
    """A response's task ended: a write to a connection the client already closed is the
    client leaving mid-reply, nothing to report; anything else is the emulator's own bug,
    logged (the task may end before the connection collects it)."""
    if task.cancelled():
        return
    failure = task.exception()
    if failure is not None and not isinstance(failure, ConnectionError):
        log.error("a response failed", exc_info=failure)
