"""The seeded bad-input corpus (tests/transports/bad_input_corpus.py) over a real socket:
every frame gets its answer (an error event, or the event's own), the socket never closes,
the session still answers a text turn every few hundred frames, no traceback reaches the
log, and a bystander session's turns meanwhile all complete."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets

from tests.transports.bad_input_corpus import frames
from tests.transports.process import Served

SEED = 20261201
COUNT = 3000
CHECK_EVERY = 300


async def text_turn(ws: Any) -> dict[str, Any]:
    """Whatever the corpus left behind, a text turn is answered: cancel what runs, ask."""
    await ws.send(json.dumps({"type": "response.cancel"}))
    await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "ok?"}]}
    await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
    await ws.send(json.dumps({"type": "response.create", "response": {"modalities": ["text"]}}))
    async with asyncio.timeout(20):
        while True:
            event = json.loads(await ws.recv())
            if event["type"] == "response.done" and event["response"]["status"] == "completed":
                return event


async def drain(ws: Any) -> int:
    """Read what has arrived; returns the number of error events."""
    errors = 0
    while True:
        try:
            frame = await asyncio.wait_for(ws.recv(), 0.001)
        except TimeoutError:
            return errors
        errors += json.loads(frame)["type"] == "error"


async def test_the_corpus_over_a_real_socket() -> None:
    stop = asyncio.Event()
    bystander_turns = 0

    async def bystander(url: str) -> None:
        nonlocal bystander_turns
        async with websockets.connect(url) as ws:
            await ws.recv()
            while not stop.is_set():
                await text_turn(ws)
                bystander_turns += 1

    with Served("--provider", "echo", "--max-message-bytes", "1048576") as served:
        watcher = asyncio.create_task(bystander(served.url()))
        errors = 0
        async with websockets.connect(served.url(), max_size=None) as ws:
            await ws.recv()
            for index, frame in enumerate(frames(SEED, COUNT), 1):
                await ws.send(frame)
                errors += await drain(ws)
                if index % CHECK_EVERY == 0:
                    await text_turn(ws)
            await text_turn(ws)
        stop.set()
        await asyncio.wait_for(watcher, 30)
    assert errors > COUNT // 2  # most of the corpus is refused, each with an error event
    assert bystander_turns >= 3
    assert "Traceback" not in served.stderr, served.stderr[-3000:]
    assert " ERROR " not in served.stderr, served.stderr[-3000:]
