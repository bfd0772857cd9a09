"""Builders for Nova Sonic output events, and cumulative token accounting."""

from __future__ import annotations

import asyncio
import math
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from . import wire
from .h2server import StreamClosed

INTERRUPTED_MARKER = '{ "interrupted" : true }'
SPEECH_TOKENS_PER_SECOND = 25.0
CHARS_PER_TEXT_TOKEN = 4.0


def text_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TEXT_TOKEN) if text else 0


def speech_tokens(seconds: float) -> int:
    return math.ceil(seconds * SPEECH_TOKENS_PER_SECOND) if seconds > 0 else 0


@dataclass(slots=True)
class Usage:
    input_speech: int = 0
    input_text: int = 0
    output_speech: int = 0
    output_text: int = 0


class FrameSink(Protocol):
    """Where an emitter writes (an :class:`~.h2server.H2Stream`)."""

    async def write(self, data: bytes) -> None: ...

    def write_nowait(self, data: bytes) -> bool: ...

    async def drain(self) -> None: ...


class Emitter:
    """Serialises output frames onto one response stream and stamps session ids."""

    def __init__(self, sink: FrameSink) -> None:
        self._sink = sink
        self._lock = asyncio.Lock()
        self.session_id = str(uuid.uuid4())
        self.prompt_name = ""
        self.usage = Usage()

    async def send(self, name: str, body: dict[str, Any]) -> None:
        await self.send_frame(wire.encode_chunk({"event": {name: body}}))

    async def send_frame(self, frame: bytes) -> None:
        # Usually the windows take the whole frame at once: queue it without awaiting anything.
        if not self._lock.locked() and self._sink.write_nowait(frame):
            await self._sink.drain()
            return
        # Otherwise it needs several flow-controlled DATA writes. Shielding lets a cancelled
        # sender's frame finish, and the lock keeps the next frame (say, an exception) after it.
        if not await asyncio.shield(self._write_locked(frame)):
            raise StreamClosed

    async def _write_locked(self, frame: bytes) -> bool:
        async with self._lock:
            try:
                await self._sink.write(frame)
            except StreamClosed:
                return False
        return True

    def _ids(self, completion_id: str) -> dict[str, Any]:
        return {
            "sessionId": self.session_id,
            "promptName": self.prompt_name,
            "completionId": completion_id,
        }

    async def user_speech(self, name: str, fields: dict[str, int]) -> None:
        """Nova 2's userSpeechStart / userSpeechEnd, which belong to no completion."""
        await self.send(
            name, {"sessionId": self.session_id, "promptName": self.prompt_name, **fields}
        )

    async def completion_start(self, completion_id: str) -> None:
        await self.send("completionStart", self._ids(completion_id))

    async def completion_end(self, completion_id: str, stop_reason: str) -> None:
        await self.send("completionEnd", {**self._ids(completion_id), "stopReason": stop_reason})

    async def content_start(
        self, completion_id: str, kind: str, role: str, *, stage: str | None = None,
        sample_rate: int = 24000,
    ) -> str:  # fmt: skip
        content_id = str(uuid.uuid4())
        body = {**self._ids(completion_id), "contentId": content_id, "type": kind, "role": role}
        if kind == "TEXT":
            body["additionalModelFields"] = f'{{"generationStage":"{stage or "FINAL"}"}}'
            body["textOutputConfiguration"] = {"mediaType": "text/plain"}
        elif kind == "AUDIO":
            body["audioOutputConfiguration"] = {
                "mediaType": "audio/lpcm",
                "sampleRateHertz": sample_rate,
                "sampleSizeBits": 16,
                "channelCount": 1,
                "encoding": "base64",
                "audioType": "SPEECH",
            }
        else:
            body["toolUseOutputConfiguration"] = {"mediaType": "application/json"}
        await self.send("contentStart", body)
        return content_id

    async def content_end(
        self, completion_id: str, content_id: str, kind: str, stop_reason: str
    ) -> None:
        body = {**self._ids(completion_id), "contentId": content_id}
        await self.send("contentEnd", {**body, "type": kind, "stopReason": stop_reason})

    async def text(self, completion_id: str, content_id: str, role: str, content: str) -> None:
        body = {**self._ids(completion_id), "contentId": content_id, "role": role}
        await self.send("textOutput", {**body, "content": content})

    async def audio(self, completion_id: str, content_id: str, content_b64: str) -> None:
        body = {**self._ids(completion_id), "contentId": content_id}
        await self.send("audioOutput", {**body, "content": content_b64})

    async def tool_use(
        self, completion_id: str, content_id: str, name: str, tool_use_id: str, content: str
    ) -> None:
        body = {**self._ids(completion_id), "contentId": content_id}
        await self.send(
            "toolUse", {**body, "toolName": name, "toolUseId": tool_use_id, "content": content}
        )

    async def usage_event(self, completion_id: str, delta: Usage) -> None:
        total = self.usage
        total.input_speech += delta.input_speech
        total.input_text += delta.input_text
        total.output_speech += delta.output_speech
        total.output_text += delta.output_text
        total_in = total.input_speech + total.input_text
        total_out = total.output_speech + total.output_text
        await self.send(
            "usageEvent",
            {
                **self._ids(completion_id),
                "details": {"delta": _split(delta), "total": _split(total)},
                "totalInputTokens": total_in,
                "totalOutputTokens": total_out,
                "totalTokens": total_in + total_out,
            },
        )


def _split(usage: Usage) -> dict[str, Any]:
    return {
        "input": {"speechTokens": usage.input_speech, "textTokens": usage.input_text},
        "output": {"speechTokens": usage.output_speech, "textTokens": usage.output_text},
    }
