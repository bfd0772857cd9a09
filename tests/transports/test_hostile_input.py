"""Hostile or careless input the gateway must shrug off, each over a real socket against
``rtcore serve``: key bytes that are not UTF-8, a blank master key, a host that only looks
like loopback, JSON nested thousands deep, a reused item id."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import pytest
import websockets

from tests.transports.process import Served, rtcore

KEY = "sk-hostile-test"


async def raw_upgrade(port: int, header: bytes) -> bytes:
    """An upgrade request with ``header`` as raw bytes; the status line of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"GET /v1/realtime?model=echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" + header + b"\r\n\r\n"
    )
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    return status


@pytest.mark.parametrize(
    "header",
    [
        b"Authorization: Bearer \xff\xfe\xfd-not-utf8",
        b"api-key: \xc3\x28\xa0\xa1",
        b"Sec-WebSocket-Protocol: realtime, openai-insecure-api-key.\xed\xa0\x80",
    ],
)
async def test_key_bytes_that_are_not_utf8_get_401_not_a_traceback(header: bytes) -> None:
    with Served("--provider", "echo", env={"RTCORE_MASTER_KEY": KEY}) as served:
        status = await raw_upgrade(served.port, header)
    assert status.startswith(b"HTTP/1.1 401"), status
    assert "Traceback" not in served.stderr
    assert " ERROR " not in served.stderr


def test_a_blank_master_key_is_no_key() -> None:
    # Whitespace would count as a key nobody can type, yet allow a public bind.
    result = rtcore(
        "serve", "--provider", "echo", "--host", "0.0.0.0", "--port", "0",
        env={"RTCORE_MASTER_KEY": "   \n"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "without a master key" in result.stderr


async def test_a_key_read_with_its_newline_still_authenticates() -> None:
    with Served("--provider", "echo", env={"RTCORE_MASTER_KEY": f"{KEY}\n"}) as served:
        headers = {"Authorization": f"Bearer {KEY}"}
        async with websockets.connect(served.url(), additional_headers=headers) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"


def test_a_name_that_only_looks_like_loopback_is_not() -> None:
    result = rtcore("serve", "--provider", "echo", "--host", "127.evil.example", "--port", "0")
    assert result.returncode == 2
    assert "refusing to listen on 127.evil.example without a master key" in result.stderr


async def _events_until(ws: Any, type_: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while not got or got[-1]["type"] != type_:
            got.append(json.loads(await ws.recv()))
    return got


async def test_json_nested_thousands_deep_is_invalid_json_and_the_session_goes_on() -> None:
    with Served("--provider", "echo") as served:
        async with websockets.connect(served.url()) as ws:
            await ws.recv()
            deep = '{"type":"session.update","event_id":"evt_deep","session":'
            await ws.send(deep + "[" * 5000 + "]" * 5000 + "}")
            error = (await _events_until(ws, "error"))[-1]["error"]
            await ws.send(json.dumps({"type": "response.create"}))
            done = (await _events_until(ws, "response.done"))[-1]
    assert error["code"] == "invalid_json"
    assert error["event_id"] == "evt_deep"
    assert done["response"]["status"] == "completed"
    assert "Traceback" not in served.stderr


async def test_an_item_id_is_taken_once() -> None:
    item = {
        "type": "message",
        "id": "item_mine",
        "role": "user",
        "content": [{"type": "input_text", "text": "hello"}],
    }
    with Served("--provider", "echo") as served:
        async with websockets.connect(served.url()) as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
            await _events_until(ws, "conversation.item.created")
            await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
            error = (await _events_until(ws, "error"))[-1]["error"]
            await ws.send(json.dumps({"type": "conversation.item.delete", "item_id": "item_mine"}))
            await _events_until(ws, "conversation.item.deleted")
            await ws.send(
                json.dumps({"type": "conversation.item.retrieve", "item_id": "item_mine"})
            )
            gone = (await _events_until(ws, "error"))[-1]["error"]
    assert (error["code"], error["param"]) == ("item_already_exists", "item.id")
    assert gone["code"] == "item_not_found"  # no duplicate survived the delete


async def _until_closed(ws: Any) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    with contextlib.suppress(websockets.ConnectionClosedError):
        async with asyncio.timeout(10):
            async for frame in ws:
                got.append(json.loads(frame))
    return got


async def test_a_session_ends_at_its_expires_at() -> None:
    with Served("--provider", "echo", "--max-session-seconds", "2") as served:
        # Bounds taken around the session's opening (not when its first event is read, which
        # a loaded machine may delay): expires_at is whole seconds, 2 s after it opened.
        before = time.time()
        async with websockets.connect(served.url()) as ws:
            created = json.loads(await ws.recv())
            after = time.time()
            assert int(before) + 2 <= created["session"]["expires_at"] <= int(after) + 3
            events = await _until_closed(ws)
    (error,) = [e["error"] for e in events if e["type"] == "error"]
    assert error["code"] == "session_expired"
    assert "maximum duration" in error["message"]
    assert ws.close_code == 1011
    assert (ws.close_reason or "").startswith("session_expired: ")


async def test_a_null_then_broken_json_is_invalid_json_not_an_internal_error() -> None:
    # Found by the corpus: the typed decoder stops at the null, and the text past it is cut.
    with Served("--provider", "echo") as served:
        async with websockets.connect(served.url()) as ws:
            await ws.recv()
            await ws.send('{"type":"session.update","session":{"voice":null,"instructions":"')
            error = (await _events_until(ws, "error"))[-1]["error"]
    assert error["code"] == "invalid_json"
    assert "Traceback" not in served.stderr
