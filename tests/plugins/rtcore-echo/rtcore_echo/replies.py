"""What the echo model says: pure functions from the conversation to a planned response.

A response is planned whole, as the list of events it will stream, so that its content is
deterministic and the session only has to pace it and stop it early.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from typing import Final

import msgspec
import numpy as np

from rtcore.provider.messages import (
    AudioDelta,
    Event,
    FunctionCallOutput,
    Item,
    Message,
    Modality,
    ResponseStatus,
    TextDelta,
    ToolCall,
    ToolDef,
    TranscriptDelta,
)

GREETING: Final = "Hello from echo."
HEARD: Final = "I heard you."
AUDIO_CHUNK_MS: Final = 40
TONE_HZ: Final = {"alloy": 440.0, "echo-voice": 330.0}
_AMPLITUDE: Final = 0.2 * 32767
_FADE_MS: Final = 5  # ramps at both ends so the tone itself starts and stops without a click

_WORD = re.compile(r"\s*\S+")
_CAPITALISED_RUN = re.compile(r"\b[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*")


class Plan(msgspec.Struct, kw_only=True):
    """The events of a response, minus its final ``ResponseDone``."""

    events: list[Event]
    status: ResponseStatus = "completed"
    reason: str | None = None


def estimate_tokens(text: str) -> int:
    """About four characters per token, as for English text."""
    return (len(text) + 3) // 4


def last_turn(items: Sequence[Item]) -> Message | FunctionCallOutput | None:
    """The latest user message or tool result: what a response answers."""
    for item in reversed(items):
        if isinstance(item, FunctionCallOutput) or (
            isinstance(item, Message) and item.role == "user"
        ):
            return item
    return None


def reply_text(items: Sequence[Item]) -> str:
    turn = last_turn(items)
    if isinstance(turn, FunctionCallOutput):
        return f"The tool said: {turn.output}"
    if turn is not None and turn.text:
        return f"You said: {turn.text}"
    return GREETING


def choose_tool(tools: Sequence[ToolDef], tool_choice: str, user_text: str) -> ToolDef | None:
    """A tool is called when its name, or a word longer than three letters from its
    description, appears in the user's text. ``tool_choice`` "none" disables tools;
    "required" falls back to the first tool; a tool's name forces that tool."""
    if not tools or tool_choice == "none":
        return None
    for tool in tools:
        if tool.name == tool_choice:
            return tool
    said = {w.lower() for w in re.findall(r"[\w'-]+", user_text)}
    for tool in tools:
        keywords = {w.lower() for w in re.findall(r"[\w'-]+", tool.description) if len(w) > 3}
        if tool.name.lower() in user_text.lower() or keywords & said:
            return tool
    return tools[0] if tool_choice == "required" else None


def capitalised_phrase(text: str) -> str:
    """The last run of capitalised words that does not start the text: "San Francisco" in
    "What's the weather in San Francisco?". "unknown" when there is none."""
    runs = [m for m in _CAPITALISED_RUN.finditer(text) if m.start() > 0]
    if runs:
        return runs[-1].group()
    first = _CAPITALISED_RUN.match(text)
    # A run starting the text counts only from its second word ("Paris" is ambiguous).
    if first is not None and " " in first.group():
        return first.group().split(maxsplit=1)[1]
    return "unknown"


def tool_arguments(tool: ToolDef, user_text: str) -> str:
    """Fill the schema's required string properties; other properties are left out."""
    props = tool.parameters.get("properties")
    required = tool.parameters.get("required")
    args: dict[str, str] = {}
    if isinstance(props, dict) and isinstance(required, list):
        value = capitalised_phrase(user_text)
        for name in required:
            spec = props.get(name)
            if isinstance(name, str) and isinstance(spec, dict) and spec.get("type") == "string":
                args[name] = value
    return json.dumps(args)


def tool_call(tool: ToolDef, user_text: str, response_id: str) -> ToolCall:
    return ToolCall(
        response_id=response_id,
        call_id="call_" + secrets.token_hex(8),
        name=tool.name,
        arguments=tool_arguments(tool, user_text),
    )


def words(text: str) -> list[str]:
    """Split keeping the spaces: "You said: hi" → ["You", " said:", " hi"]."""
    return _WORD.findall(text)


def limit_words(parts: list[str], max_tokens: int | None) -> tuple[list[str], bool]:
    """Cut the reply where it would exceed ``max_tokens``; True when it was cut."""
    if max_tokens is None:
        return parts, False
    kept: list[str] = []
    for part in parts:
        if estimate_tokens("".join([*kept, part])) > max_tokens:
            return kept, True
        kept.append(part)
    return kept, False


def tone(ms: int, rate: int, freq: float) -> bytes:
    n = rate * ms // 1000
    t = np.arange(n) / rate
    wave = np.sin(2 * np.pi * freq * t) * _AMPLITUDE
    fade = min(n // 2, rate * _FADE_MS // 1000)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        wave[:fade] *= ramp
        wave[n - fade :] *= ramp[::-1]
    return np.round(wave).astype("<i2").tobytes()


def speak(
    text: str,
    *,
    modalities: Sequence[Modality],
    rate: int,
    voice: str,
    ms_per_char: int,
    max_tokens: int | None,
    response_id: str,
) -> Plan:
    """Text deltas word by word, or ~40 ms audio chunks interleaved with transcript deltas."""
    parts, cut = limit_words(words(text), max_tokens)
    status: ResponseStatus = "incomplete" if cut else "completed"
    reason = "max_output_tokens" if cut else None
    if "audio" not in modalities:
        texts: list[Event] = [TextDelta(response_id=response_id, text=p) for p in parts]
        return Plan(events=texts, status=status, reason=reason)
    spoken = "".join(parts)
    pcm = tone(max(len(spoken), 1) * ms_per_char, rate, TONE_HZ.get(voice, TONE_HZ["alloy"]))
    step = rate * AUDIO_CHUNK_MS // 1000 * 2
    chunks = [pcm[i : i + step] for i in range(0, len(pcm), step)]
    events: list[Event] = []
    sent = 0
    for index, chunk in enumerate(chunks):
        # The words due by the end of this chunk go just before it (rounded up, so the
        # first word leads), keeping transcript and audio in step.
        due = -(-len(parts) * (index + 1) // len(chunks))
        events.extend(TranscriptDelta(response_id=response_id, text=p) for p in parts[sent:due])
        sent = max(sent, due)
        events.append(AudioDelta(response_id=response_id, pcm=chunk))
    events.extend(TranscriptDelta(response_id=response_id, text=p) for p in parts[sent:])
    return Plan(events=events, status=status, reason=reason)
