"""The deterministic model behind one connection: the session, the conversation's items,
responses (in the conversation or out of band), tools and barge-in; the input audio buffer
it hears through is ``input_audio``'s."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rtcore_emulated_speech.script import Script

from .errors import ClientError, error_event
from .ids import new_id
from .input_audio import InputAudio
from .items import Conversation, Entry, Meta, context_of, normalise, said_of
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
from .stats import SessionUpdate, Stats, ToolOutput
from .tokens import (
    TOKENS_PER_MINUTE_LIMIT,
    Usage,
    input_audio_tokens,
    text_tokens,
)
from .vendors import Vendor

log = logging.getLogger(__name__)

# Called with the 1-based response number; may raise to refuse or break the response.
type ResponseHook = Callable[[int], Awaitable[None]]


@dataclass
class Hooks:
    """Where faults reach in: before a response starts and after its first output."""

    before_response: ResponseHook
    first_output: ResponseHook


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
        self.input = InputAudio(
            config=config,
            out=out,
            script=script,
            stats=stats,
            conversation=self.conversation,
            connection=connection,
            probe=probe,
            interrupt=self.cancel_active,
            respond=self._auto_response,
        )
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
        self.input.reconfigure()
        await self.out.send("session.updated", session=self.config.wire())
        await self.mcp.configure(self.config.tools)

    # Conversation items.
    async def on_item_create(self, event: dict[str, Any]) -> None:
        item = normalise(event.get("item"))
        meta = Meta(said=said_of(item))
        for index, part in enumerate(item.get("content") or []):
            if part.get("type") == "input_audio" and part.get("audio") is not None:
                meta.said, meta.audio_seconds = self.input.listen(part["audio"], index)
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
