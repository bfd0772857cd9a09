"""A typed user turn as clients send it, and running one over a WebSocket."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


def user_turn(text: str = "Hello!", modalities: list[str] | None = None) -> list[dict[str, Any]]:
    """``conversation.item.create`` with the text, then ``response.create`` (with the
    response's ``modalities`` when given)."""
    item = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    }
    create: dict[str, Any] = {"type": "response.create"}
    if modalities is not None:
        create["response"] = {"modalities": modalities}
    return [{"type": "conversation.item.create", "item": item}, create]


async def send_turn(ws: ClientConnection, turn: list[dict[str, Any]]) -> None:
    for event in turn:
        await ws.send(json.dumps(event))


async def run_turn(
    url: str,
    turn: list[dict[str, Any]],
    headers: dict[str, str] | None = None,
    within: float = 10.0,
) -> list[dict[str, Any]]:
    """Connect, send ``turn`` after the first event, and return every event up to and
    including ``response.done``."""
    async with connect(url, proxy=None, additional_headers=headers) as ws:
        events: list[dict[str, Any]] = [json.loads(await ws.recv())]
        await send_turn(ws, turn)
        async with asyncio.timeout(within):
            while events[-1]["type"] != "response.done":
                events.append(json.loads(await ws.recv()))
    return events
