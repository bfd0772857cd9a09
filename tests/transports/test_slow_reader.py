"""A client that stops reading is dropped once it has read nothing for the send timeout:
its session (and the provider's) is closed, its socket aborted (a graceful close would
wait for the unread data for ever), the session recorded with its own end reason, and the
others go on."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import websockets

from tests.transports.process import Served

ESTABLISHED = "01"


def server_side_states(server_port: int, client_port: int) -> list[str]:
    """The TCP states of the server's end of one connection, from the kernel's tables
    (empty once the server has let go of it)."""
    states = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            if (
                int(local.rsplit(":", 1)[1], 16) == server_port
                and int(remote.rsplit(":", 1)[1], 16) == client_port
            ):
                states.append(state)
    return states


async def test_a_client_that_never_reads_is_dropped_and_the_others_go_on() -> None:
    with Served("--provider", "echo", "--send-timeout-seconds", "1") as served:
        # The client library stops reading from the socket once 4 messages wait unread.
        sleeper = await websockets.connect(served.url(), max_queue=4)
        client_port = sleeper.transport.get_extra_info("sockname")[1]
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
        async with asyncio.timeout(30):
            while "read nothing for 1 s" not in served.stderr:  # noqa: ASYNC110 - a log
                await asyncio.sleep(0.1)
        # The server let go of the connection: no longer established on its side, though
        # the client never read its close frame.
        async with asyncio.timeout(30):
            while ESTABLISHED in server_side_states(served.port, client_port):  # noqa: ASYNC110
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
    assert "dropped the connection of 127.0.0.1" in served.stderr
    assert "session ended (client_too_slow)" in served.stderr
