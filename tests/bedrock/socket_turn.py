"""One typed turn over a real WebSocket, as a client would send it, and what came back."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import websockets


class Turn:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.close_reason = ""

    def errors(self) -> list[dict[str, Any]]:
        return [e["error"] for e in self.events if e["type"] == "error"]


async def typed_turn(url: str, text: str = "Hi", *, until_close: bool = True) -> Turn:
    """Send ``text`` and ``response.create``; read until the socket closes (or, with
    ``until_close=False``, until ``response.done``)."""
    turn = Turn()
    async with websockets.connect(url, open_timeout=10) as ws:
        item = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        }
        await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
        await ws.send(json.dumps({"type": "response.create"}))
        with contextlib.suppress(websockets.ConnectionClosedError):
            async for frame in ws:
                turn.events.append(json.loads(frame))
                if not until_close and turn.events[-1]["type"] == "response.done":
                    break
    turn.close_code, turn.close_reason = ws.close_code, ws.close_reason or ""
    return turn
