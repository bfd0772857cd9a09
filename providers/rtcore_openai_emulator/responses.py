"""One response: the GA event order for text, audio and function-call output (reference §3.2,
§3.3, §3.4), paced audio, cancellation, limits and usage."""

from __future__ import annotations

import asyncio
import base64
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rtcore_emulated_speech import voice
from rtcore_emulated_speech.paced import PacedSpeech, fragments
from rtcore_emulator_kit.faults import FirstOutput, FirstOutputHook

from .audio import AudioFormat
from .ids import new_id, obfuscation
from .items import Entry, Meta, arguments_json
from .outbox import Outbox
from .probe import AudioProbe
from .reply import Reply
from .stats import AudioDigest
from .tokens import Usage, output_audio_tokens, text_tokens

CHUNK_SECONDS = 0.1
VOICE_PITCH = {
    "alloy": 180.0,
    "ash": 120.0,
    "ballad": 130.0,
    "coral": 210.0,
    "echo": 115.0,
    "sage": 200.0,
    "shimmer": 220.0,
    "verse": 125.0,
    "marin": 215.0,
    "cedar": 110.0,
    "eve": 205.0,
    "ara": 215.0,
    "leo": 115.0,
    "rex": 120.0,
    "sal": 160.0,
}


def pitch_of(voice_name: Any) -> float:
    if isinstance(voice_name, str):
        return VOICE_PITCH.get(voice_name.lower(), voice.MIDDLE_PITCH_HZ)
    return voice.MIDDLE_PITCH_HZ


@dataclass
class Plan:
    """A response as created: its options (the session's, overridden per response)."""

    id: str
    number: int
    in_conversation: bool
    conversation_id: str | None
    metadata: Any
    instructions: str
    modalities: list[str]
    voice: Any
    output_format: AudioFormat
    max_output_tokens: Any
    reply: Reply
    usage: Usage
    transcribe_output: bool = True
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    cancel_reason: str = "client_cancelled"
    output: list[dict[str, Any]] = field(default_factory=list)
    status: str = "in_progress"
    status_details: dict[str, Any] | None = None

    def wire(self, usage: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "object": "realtime.response",
            "id": self.id,
            "status": self.status,
            "status_details": self.status_details,
            "output": copy.deepcopy(self.output),
            "conversation_id": self.conversation_id,
            "output_modalities": list(self.modalities),
            "max_output_tokens": self.max_output_tokens,
            "audio": {"output": {"format": self.output_format.wire(), "voice": self.voice}},
            "usage": usage,
            "metadata": self.metadata,
        }


@dataclass
class Speaker:
    """Writes one response's events. ``add_item`` puts an item in the conversation (and
    returns the previous item's id) when the response belongs to it."""

    out: Outbox
    realtime_factor: Callable[[], float]
    first_output: FirstOutputHook
    add_item: Callable[[Entry], str | None]
    usage_on_done: bool = True
    # xAI sends no conversation.item.done (reference §2, conversation events).
    item_done_events: bool = True
    probe: AudioProbe | None = None
    stream: int = 0  # the connection's number, as the probe knows it
    sent: AudioDigest | None = None  # the audio written, in the session's format
    mcp: Any = None  # the session's MCP servers (mcp_tools.McpServers), which run its calls

    async def run(self, plan: Plan) -> None:
        first = FirstOutput(self.first_output, plan.number)
        try:
            call = plan.reply.call
            if call is not None and call.server_label is not None and self.mcp is not None:
                await self.mcp.speak(plan, self)
            elif call is not None:
                await self._call(plan, first)
            else:
                await self._message(plan, first)
        finally:
            if plan.status == "in_progress":
                plan.status = "completed"
        await self._done(plan)

    async def created(self, plan: Plan) -> None:
        await self.out.send("response.created", response=plan.wire(None))

    async def _done(self, plan: Plan) -> None:
        usage = plan.usage.wire() if self.usage_on_done else None
        await self.out.send("response.done", response=plan.wire(usage))

    async def _item_added(self, plan: Plan, item: dict[str, Any], index: int) -> Entry:
        entry = Entry(item, Meta())
        await self.out.send(
            "response.output_item.added",
            response_id=plan.id,
            output_index=index,
            item=copy.deepcopy(item),
        )
        if plan.in_conversation:
            previous = self.add_item(entry)
            entry.meta.said = ""
            await self.out.send(
                "conversation.item.added", previous_item_id=previous, item=copy.deepcopy(item)
            )
        return entry

    async def _item_done(self, plan: Plan, entry: Entry, index: int) -> None:
        if plan.in_conversation and self.item_done_events:
            await self.out.send("conversation.item.done", item=copy.deepcopy(entry.item))
        await self.out.send(
            "response.output_item.done",
            response_id=plan.id,
            output_index=index,
            item=copy.deepcopy(entry.item),
        )
        plan.output.append(copy.deepcopy(entry.item))

    async def _call(self, plan: Plan, first: FirstOutput) -> None:
        call = plan.reply.call
        assert call is not None
        args = arguments_json(plan.reply.call_arguments or {})
        item = {
            "id": new_id("item_"),
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "call_id": new_id("call_", 16),
            "name": call.name,
            "arguments": "",
        }
        entry = await self._item_added(plan, item, 0)
        fields = {"response_id": plan.id, "item_id": item["id"], "output_index": 0}
        await self.out.send(
            "response.function_call_arguments.delta",
            **fields,
            call_id=item["call_id"],
            delta=args,
            obfuscation=obfuscation(),
        )
        await first.done()
        await self.out.send(
            "response.function_call_arguments.done",
            **fields,
            call_id=item["call_id"],
            name=call.name,
            arguments=args,
        )
        item["arguments"] = args
        item["status"] = "completed"
        entry.meta.said = f"{call.name}({args})"
        plan.usage.output_text += text_tokens(call.name + args)
        await self._item_done(plan, entry, 0)

    async def _message(self, plan: Plan, first: FirstOutput) -> None:
        audio = "audio" in plan.modalities
        text, limited = _limit(plan.reply.text, plan.max_output_tokens, audio)
        content_type = "output_audio" if audio else "output_text"
        item: dict[str, Any] = {
            "id": new_id("item_"),
            "object": "realtime.item",
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        entry = await self._item_added(plan, item, 0)
        fields = {
            "response_id": plan.id,
            "item_id": item["id"],
            "output_index": 0,
            "content_index": 0,
        }
        part: dict[str, Any] = (
            {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
        )
        await self.out.send("response.content_part.added", **fields, part=dict(part))
        if audio:
            said, seconds, spoken = await self._speak(plan, text, fields, first)
            await self.out.send("response.output_audio.done", **fields)
            await self.out.send("response.output_audio_transcript.done", **fields, transcript=said)
            part["transcript"] = said
            stored = {"type": content_type, "transcript": said}
            entry.meta.audio_seconds = seconds
            entry.meta.fragments = spoken
            plan.usage.output_audio += output_audio_tokens(seconds)
        else:
            said = await self._write(plan, text, fields, first)
            await self.out.send("response.output_text.done", **fields, text=said)
            part["text"] = said
            stored = {"type": content_type, "text": said}
        plan.usage.output_text += text_tokens(said)
        entry.meta.said = said
        await self.out.send("response.content_part.done", **fields, part=part)
        item["content"] = [stored]
        cancelled = plan.cancel.is_set()
        item["status"] = "incomplete" if cancelled or limited else "completed"
        if plan.status == "failed":
            pass
        elif cancelled:
            plan.status = "cancelled"
            plan.status_details = {"type": "cancelled", "reason": plan.cancel_reason}
        elif limited:
            plan.status = "incomplete"
            plan.status_details = {"type": "incomplete", "reason": "max_output_tokens"}
        await self._item_done(plan, entry, 0)

    async def _write(
        self, plan: Plan, text: str, fields: dict[str, Any], first: FirstOutput
    ) -> str:
        written = []
        for fragment in fragments(text) or [text]:
            if plan.cancel.is_set():
                break
            await self.out.send(
                "response.output_text.delta", **fields, delta=fragment, obfuscation=obfuscation()
            )
            written.append(fragment)
            await first.done()
            # Let a cancel or a barge-in read between deltas, as the live service streams.
            await asyncio.sleep(0)
        return "".join(written)

    async def _speak(
        self, plan: Plan, text: str, fields: dict[str, Any], first: FirstOutput
    ) -> tuple[str, float, list[tuple[float, str]]]:
        fmt = plan.output_format
        rate = fmt.sample_rate
        pcm = voice.synthesize(text, pitch_of(plan.voice), rate)
        speech = PacedSpeech(text, pcm, rate, CHUNK_SECONDS)
        paced = speech.chunks(self.realtime_factor, plan.cancel, yield_unpaced=True)
        async for starting, chunk in paced:
            if plan.transcribe_output:
                for fragment in starting:
                    await self.out.send(
                        "response.output_audio_transcript.delta",
                        **fields,
                        delta=fragment,
                        obfuscation=obfuscation(),
                    )
            written = fmt.encode(chunk)
            await self.out.send(
                "response.output_audio.delta",
                **fields,
                delta=base64.b64encode(written).decode("ascii"),
            )
            if self.sent is not None and not self.out.silent:
                self.sent.add(written)
            if self.probe is not None and not self.out.silent:
                self.probe.audio_out(self.stream, len(chunk), time.monotonic_ns())
            await first.done()
        return "".join(speech.said), speech.seconds, speech.spoken()


def _limit(text: str, max_output_tokens: Any, audio: bool) -> tuple[str, bool]:
    """``text`` cut to ``max_output_tokens`` (whole words); True when it was cut."""
    if not isinstance(max_output_tokens, int):
        return text, False

    def cost(words: str) -> int:
        tokens = text_tokens(words)
        if audio:
            tokens += output_audio_tokens(voice.speech_seconds(words)) if words else 0
        return tokens

    if cost(text) <= max_output_tokens:
        return text, False
    kept = ""
    for fragment in fragments(text):
        if cost(kept + fragment) > max_output_tokens:
            break
        kept += fragment
    return kept, True
