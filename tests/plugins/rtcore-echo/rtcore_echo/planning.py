"""A planned response being paced out, and planning one from the conversation (pure)."""

from __future__ import annotations

from collections import deque

from rtcore.kit import LedgerResponse
from rtcore.provider.messages import (
    AudioDelta,
    Event,
    FunctionCallOutput,
    Item,
    Message,
    SessionConfig,
    TextDelta,
    ToolCall,
    TranscriptDelta,
    Usage,
)
from rtcore_echo import replies
from rtcore_echo.params import EchoParams


class Streaming:
    """The active response's plan: what is left to emit, and counts of what was emitted
    (so a cancelled response reports the usage it really had)."""

    def __init__(self, response: LedgerResponse, plan: replies.Plan, input_usage: Usage) -> None:
        self.response = response
        self.plan = plan
        self.pending: deque[Event] = deque(plan.events)
        self.input_usage = input_usage
        self.due = 0.0
        self.text_chars = self.audio_bytes = 0

    def note(self, event: Event) -> None:
        if isinstance(event, TextDelta | TranscriptDelta):
            self.text_chars += len(event.text)
        elif isinstance(event, AudioDelta):
            self.audio_bytes += len(event.pcm)
        elif isinstance(event, ToolCall):
            self.text_chars += len(event.name) + len(event.arguments)

    def usage(self, rate: int) -> Usage:
        return Usage(
            input_text_tokens=self.input_usage.input_text_tokens,
            input_audio_tokens=self.input_usage.input_audio_tokens,
            output_text_tokens=(self.text_chars + 3) // 4,
            output_audio_tokens=self.audio_bytes * 1000 // (2 * rate) // 50,  # ~20 a second
        )


def input_usage(config: SessionConfig, items: list[Item], input_audio_ms: int) -> Usage:
    text = config.instructions + "".join(_item_text(i) for i in items)
    return Usage(
        input_text_tokens=replies.estimate_tokens(text), input_audio_tokens=input_audio_ms // 100
    )


def plan(
    config: SessionConfig,
    params: EchoParams,
    response: LedgerResponse,
    items: list[Item],
    text: str | None,
) -> replies.Plan:
    """What the response says: ``text`` when given, else a tool call the last user turn asks
    for, else the reply to it; the response's options override the session's config."""
    options = response.options
    if text is None:
        turn = replies.last_turn(items)
        if isinstance(turn, Message) and turn.text:
            tools = options.tools if options.tools is not None else config.tools
            tool = replies.choose_tool(tools, options.tool_choice or config.tool_choice, turn.text)
            if tool is not None:
                return replies.Plan(events=[replies.tool_call(tool, turn.text, response.id)])
        text = replies.reply_text(items)
    if options.instructions:
        text = f"{options.instructions.rstrip('.')}. {text}"
    max_tokens = options.max_output_tokens
    return replies.speak(
        text,
        modalities=response.modalities,
        rate=config.output_sample_rate,
        voice=options.voice or config.voice or "alloy",
        ms_per_char=params.ms_per_char,
        max_tokens=config.max_output_tokens if max_tokens is None else max_tokens,
        response_id=response.id,
    )


def _item_text(item: Item) -> str:
    if isinstance(item, Message):
        return item.text or ""
    if isinstance(item, FunctionCallOutput):
        return item.output
    return item.arguments
