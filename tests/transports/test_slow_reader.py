"""A client that stops reading is dropped once it has read nothing for the send timeout:
its session (and the provider's) is closed and its memory returned, and the others go on."""

from __future__ import annotations

import asyncio
import json

import websockets

from tests.transports.process import Served


async def test_a_client_that_never_reads_is_dropped_and_the_others_go_on() -> None:
    with Served("--provider", "echo", "--send-timeout-seconds", "1") as served:
        # The client library stops reading from the socket once 4 messages wait unread.
        sleeper = await websockets.connect(served.url(), max_queue=4)
        item = {
            "type": "message",
            "role": "user",
            # The echo model speaks it: minutes of audio, far more than socket buffers hold.
            "content": [{"type": "input_text", "text": "x" * 4000}],
        }
        await sleeper.send(json.dumps({"type": "conversation.item.create", "item": item}))
        await sleeper.send(
            json.dumps({"type": "response.create", "response": {"output_modalities": ["audio"]}})
        )
        async with asyncio.timeout(20):
            while "read nothing for 1 s" not in served.stderr:  # noqa: ASYNC110 - a log
                await asyncio.sleep(0.1)
        # Meanwhile another client is served as usual.
        async with websockets.connect(served.url()) as other:
            assert json.loads(await other.recv())["type"] == "session.created"
            await other.send(json.dumps({"type": "response.create"}))
            async with asyncio.timeout(10):
                while json.loads(await other.recv())["type"] != "response.done":
                    pass
        sleeper.transport.abort()
    assert "Traceback" not in served.stderr
    assert "closed session of 127.0.0.1" in served.stderr
