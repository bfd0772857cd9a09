"""Every bad-input case, over a real WebSocket to ``rtcore serve`` started as users start it.

The cases are the core's own (tests/core/test_bad_input.py); here they cross a real socket
and a real server process, and each connection must still complete a turn afterwards.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from tests.core.test_bad_input import CASES
from tests.transports.process import Served

USER_TEXT = {
    "type": "conversation.item.create",
    "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
}


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    served = Served("--provider", "echo", "--max-message-bytes", "65536")
    try:
        yield served
    finally:
        served.stop()


async def next_of(ws: Any, type_: str) -> dict[str, Any]:
    while True:
        event = json.loads(await ws.recv(decode=False))
        if event["type"] == type_:
            return event  # type: ignore[no-any-return]


async def turn_completes(ws: Any) -> None:
    await ws.send(json.dumps(USER_TEXT))
    await ws.send(json.dumps({"type": "response.create", "response": {"modalities": ["text"]}}))
    done = await next_of(ws, "response.done")
    assert done["response"]["status"] == "completed"


CASES_OVER_WIRE = [
    *[(name, frame, code, param) for name, frame, code, param in CASES],
    ("binary frame", b"\x00\x01", "invalid_event", None),
]


@pytest.mark.parametrize(
    ("frame", "code", "param"),
    [c[1:] for c in CASES_OVER_WIRE],
    ids=[c[0] for c in CASES_OVER_WIRE],
)
async def test_bad_input_over_a_real_websocket(
    server: Served, frame: Any, code: str, param: str | None
) -> None:
    async with websockets.connect(
        server.url(), additional_headers={"Authorization": "Bearer sk-1234"}
    ) as ws:
        await next_of(ws, "session.created")
        await ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))
        error = (await next_of(ws, "error"))["error"]
        assert error["code"] == code
        assert error["param"] == param
        if isinstance(frame, dict) and "event_id" in frame:
            assert error["event_id"] == frame["event_id"]
        await turn_completes(ws)


async def test_an_oversized_message_closes_with_1009_and_others_go_on(server: Served) -> None:
    big = {
        "event_id": "big1",
        "type": "input_audio_buffer.append",
        "audio": base64.b64encode(b"\x00" * 60_000).decode(),  # 80 kB > 64 KiB
    }
    headers = {"Authorization": "Bearer sk-1234"}
    async with websockets.connect(server.url(), additional_headers=headers) as ws:
        await next_of(ws, "session.created")
        await ws.send(json.dumps(big))
        with pytest.raises(websockets.ConnectionClosed):
            await next_of(ws, "error")
    assert ws.close_code == 1009
    async with websockets.connect(server.url(), additional_headers=headers) as other:
        await next_of(other, "session.created")
        await turn_completes(other)
