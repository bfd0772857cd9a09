"""Sessions over the in-process WebSocket server: frames pumped both ways, dialect hints,
independent concurrent sessions, clean-up when a client leaves."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.transports.conftest import StartServer

SEED_TURN = [
    {
        "type": "session.update",
        "session": {
            "instructions": "You are a helpful assistant.",
            "modalities": ["text"],
            "temperature": 0.8,
        },
    },
    {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Hello!"}],
        },
    },
    {"type": "response.create"},
]


async def run_turn(ws: ClientConnection, turn: list[dict[str, Any]]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [json.loads(await ws.recv())]
    for event in turn:
        await ws.send(json.dumps(event))
    async with asyncio.timeout(5):
        while events[-1]["type"] != "response.done":
            events.append(json.loads(await ws.recv()))
    return events


async def test_seed_text_turn(start_server: StartServer) -> None:
    async with (
        start_server() as server,
        connect(
            server.url(), proxy=None, additional_headers={"Authorization": "Bearer sk-1234"}
        ) as ws,
    ):
        events = await run_turn(ws, SEED_TURN)
    types = [e["type"] for e in events]
    assert types[:2] == ["session.created", "conversation.created"]
    conversation = events[1]["conversation"]
    assert conversation["object"] == "realtime.conversation"
    assert events[-1]["response"]["conversation_id"] == conversation["id"]
    text = "".join(e["delta"] for e in events if e["type"] == "response.text.delta")
    assert text == "Hello there"
    assert events[-1]["response"]["status"] == "completed"


async def test_server_dialect_applies_without_client_signal(start_server: StartServer) -> None:
    async with start_server(dialect="ga") as server, connect(server.url(), proxy=None) as ws:
        types = [e["type"] for e in await run_turn(ws, SEED_TURN[1:])]
    assert "response.output_text.delta" in types
    assert "response.text.delta" not in types


async def test_beta_header_overrides_server_dialect(start_server: StartServer) -> None:
    async with (
        start_server(dialect="ga") as server,
        connect(server.url(), proxy=None, additional_headers={"OpenAI-Beta": "realtime=v1"}) as ws,
    ):
        types = [e["type"] for e in await run_turn(ws, SEED_TURN[1:])]
    assert "response.text.delta" in types


async def test_beta_subprotocol_is_a_dialect_hint(start_server: StartServer) -> None:
    async with (
        start_server(dialect="ga") as server,
        connect(server.url(), proxy=None, subprotocols=["openai-beta.realtime-v1"]) as ws,  # type: ignore[list-item]
    ):
        assert ws.subprotocol == "openai-beta.realtime-v1"
        types = [e["type"] for e in await run_turn(ws, SEED_TURN[1:])]
    assert "response.text.delta" in types


async def test_concurrent_sessions_are_independent(start_server: StartServer) -> None:
    async with start_server() as server:

        async def one(n: int) -> tuple[str, str]:
            async with connect(server.url(), proxy=None) as ws:
                events = await run_turn(ws, SEED_TURN)
            session_id = events[0]["session"]["id"]
            items = [e for e in events if e["type"] == "conversation.item.created"]
            return session_id, items[0]["item"]["id"]

        results = await asyncio.gather(*(one(n) for n in range(8)))
        assert len({s for s, _ in results}) == 8
        assert len(server.provider.sessions) == 8


async def test_bad_frames_get_errors_and_the_session_continues(start_server: StartServer) -> None:
    async with (
        start_server(max_message_bytes=2048) as server,
        connect(server.url(), proxy=None) as ws,
    ):
        await ws.recv()  # session.created
        await ws.recv()  # conversation.created
        await ws.send("not json")
        assert json.loads(await ws.recv())["error"]["code"] == "invalid_json"
        await ws.send(b"\x00binary")
        assert json.loads(await ws.recv())["error"]["code"] == "invalid_event"
        events = await run_turn_after_created(ws)
        assert events[-1]["type"] == "response.done"


async def test_a_frame_over_the_limit_closes_the_socket_without_being_buffered(
    start_server: StartServer,
) -> None:
    async with (
        start_server(max_message_bytes=2048) as server,
        connect(server.url(), proxy=None) as ws,
    ):
        await ws.recv()  # session.created
        await ws.recv()  # conversation.created
        # Refused at the limit, as the socket reads it: 1009, message too big.
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": "A" * 3000}))
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code == 1009


async def run_turn_after_created(ws: ClientConnection) -> list[dict[str, Any]]:
    for event in SEED_TURN:
        await ws.send(json.dumps(event))
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(5):
        while not events or events[-1]["type"] != "response.done":
            events.append(json.loads(await ws.recv()))
    return events


async def test_client_leaving_closes_the_provider_session(start_server: StartServer) -> None:
    async with start_server() as server:
        async with connect(server.url(), proxy=None) as ws:
            await ws.recv()
        session = server.provider.sessions[0]
        # aclose() queues the end marker once the server has let go of the session.
        assert await asyncio.wait_for(session.queue.get(), 5) is None
