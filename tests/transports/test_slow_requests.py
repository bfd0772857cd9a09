"""Slowloris: connections that never finish (or start) their request are closed at the
header deadline, and past a cap at once; real clients are served meanwhile."""

from __future__ import annotations

import asyncio
import json
import time

import websockets

from rtcore_websocket.guard import MAX_PENDING_CONNECTIONS
from tests.transports.process import Served


async def closed_after(reader: asyncio.StreamReader, limit: float) -> float | None:
    """Seconds until the server closed the connection, or None within ``limit``."""
    started = time.monotonic()
    try:
        await asyncio.wait_for(reader.read(), limit)
    except TimeoutError:
        return None
    return time.monotonic() - started


async def test_a_request_that_never_finishes_is_closed_at_the_deadline() -> None:
    with Served("--provider", "echo", "--header-timeout-seconds", "1") as served:
        partial = await asyncio.open_connection("127.0.0.1", served.port)
        partial[1].write(b"GET /v1/realtime HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and no more
        silent = await asyncio.open_connection("127.0.0.1", served.port)  # not a byte
        async with websockets.connect(served.url()) as ws:  # a real client meanwhile
            assert json.loads(await ws.recv())["type"] == "session.created"
            waits = await asyncio.gather(closed_after(partial[0], 10), closed_after(silent[0], 10))
            await asyncio.sleep(1.5)  # the live session is not swept
            await ws.send(json.dumps({"type": "response.create"}))
            async with asyncio.timeout(10):
                while json.loads(await ws.recv())["type"] != "response.done":
                    pass
        for _, writer in (partial, silent):
            writer.close()
    for wait in waits:
        assert wait is not None
        assert wait < 3


async def test_too_many_connections_without_a_request_are_closed_at_once() -> None:
    with Served("--provider", "echo") as served:  # the default 10 s deadline
        streams = [
            await asyncio.open_connection("127.0.0.1", served.port)
            for _ in range(MAX_PENDING_CONNECTIONS + 8)
        ]
        closed = await asyncio.gather(*(closed_after(r, 3) for r, _ in streams))
        for _, writer in streams:
            writer.close()
    shut = [c for c in closed if c is not None]
    assert len(shut) >= 8  # the newest beyond the cap, long before the deadline
    assert "too many connections without one" in served.stderr
