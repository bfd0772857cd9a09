"""Server messages (reference §3) and token accounting; one writer per connection."""

from __future__ import annotations

import asyncio
import base64
import json
import math
from dataclasses import dataclass
from typing import Any, Protocol

OUTPUT_RATE = 24000
OUTPUT_MIME = f"audio/pcm;rate={OUTPUT_RATE}"
# The emulator's figures (the reference leaves tokens per second unverified, §9).
AUDIO_TOKENS_PER_SECOND = 25.0
CHARS_PER_TEXT_TOKEN = 4.0


def text_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TEXT_TOKEN) if text else 0


def audio_tokens(seconds: float) -> int:
    return math.ceil(seconds * AUDIO_TOKENS_PER_SECOND) if seconds > 0 else 0


class TextSocket(Protocol):
    """What the outbox writes to (aiohttp's ``WebSocketResponse``)."""

    async def send_str(self, data: str, compress: int | None = None) -> None: ...


class Outbox:
    """Serialises messages onto the socket. A stalled connection (``silent``) sends nothing."""

    def __init__(self, socket: TextSocket) -> None:
        self._socket = socket
        self._lock = asyncio.Lock()
        self.silent = False

    async def send(self, message: dict[str, Any]) -> None:
        if self.silent:
            return
        data = json.dumps(message, separators=(",", ":"))
        async with self._lock:
            await self._socket.send_str(data)


def setup_complete(session_id: str) -> dict[str, Any]:
    return {"setupComplete": {"sessionId": session_id}}


def server_content(**fields: Any) -> dict[str, Any]:
    return {"serverContent": fields}


def audio_part(pcm: bytes) -> dict[str, Any]:
    return {"inlineData": {"mimeType": OUTPUT_MIME, "data": base64.b64encode(pcm).decode("ascii")}}


def model_turn(*parts: dict[str, Any]) -> dict[str, Any]:
    return server_content(modelTurn={"role": "model", "parts": list(parts)})


def tool_call(calls: list[dict[str, Any]]) -> dict[str, Any]:
    return {"toolCall": {"functionCalls": calls}}


def tool_call_cancellation(ids: list[str]) -> dict[str, Any]:
    return {"toolCallCancellation": {"ids": ids}}


def go_away(seconds: float) -> dict[str, Any]:
    return {"goAway": {"timeLeft": duration(seconds)}}


def resumption_update(handle: str | None) -> dict[str, Any]:
    """``{newHandle, resumable: true}``, or ``{resumable: false}`` while the model generates or
    a tool runs (reference §3)."""
    if handle is None:
        return {"sessionResumptionUpdate": {"resumable": False}}
    return {"sessionResumptionUpdate": {"newHandle": handle, "resumable": True}}


def duration(seconds: float) -> str:
    """A protobuf JSON Duration: ``"50s"``, ``"0.500s"``."""
    seconds = max(0.0, seconds)
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{seconds:.3f}s"


@dataclass(slots=True)
class Usage:
    prompt_text: int = 0
    prompt_audio: int = 0
    response_text: int = 0
    response_audio: int = 0

    def metadata(self, vertex: bool) -> dict[str, Any]:
        """``usageMetadata``: the Gemini API names the output ``responseTokenCount``, Vertex
        ``candidatesTokenCount`` (reference §0.8)."""
        prompt = self.prompt_text + self.prompt_audio
        response = self.response_text + self.response_audio
        out_name = "candidates" if vertex else "response"
        return {
            "promptTokenCount": prompt,
            f"{out_name}TokenCount": response,
            "totalTokenCount": prompt + response,
            "promptTokensDetails": _details(self.prompt_text, self.prompt_audio),
            f"{out_name}TokensDetails": _details(self.response_text, self.response_audio),
        }


def _details(text: int, audio: int) -> list[dict[str, Any]]:
    details = []
    if text:
        details.append({"modality": "TEXT", "tokenCount": text})
    if audio:
        details.append({"modality": "AUDIO", "tokenCount": audio})
    return details


def turn_complete(usage: Usage, vertex: bool) -> dict[str, Any]:
    """The end of a model turn, usage riding along (reference §4.1)."""
    return {"serverContent": {"turnComplete": True}, "usageMetadata": usage.metadata(vertex)}
