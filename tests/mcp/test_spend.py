"""A session's MCP calls in its spend record: ``rtcore serve --config`` with a master key
and ``--emulator`` (an OpenAI-protocol model), a virtual key's session calling the real MCP
server's tools; ``/spend/logs`` shows the calls per server label in the row's metadata."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import websockets
import yaml

from tests.keys.conftest import Admin, until
from tests.transports.process import Served

from .conftest import McpServers

MASTER = "sk-master-mcp-spend"
CITIES = ("Paris", "Rome")


async def turn(ws: Any, text: str) -> list[dict[str, Any]]:
    """A typed turn that calls an MCP tool: events up to the reply the gateway asks for
    once the call is back (the second response.done)."""
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
    await ws.send(json.dumps({"type": "response.create"}))
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(60):  # a safety net only
        while sum(e["type"] == "response.done" for e in events) < 2:
            event = json.loads(await ws.recv())
            assert event["type"] != "error", event
            events.append(event)
    return events


async def configure(ws: Any, tools: list[dict[str, Any]]) -> None:
    session = {"type": "realtime", "output_modalities": ["text"], "tools": tools}
    await ws.send(json.dumps({"type": "session.update", "session": session}))
    listed = 0
    async with asyncio.timeout(60):  # a safety net only
        while listed < len(tools):
            event = json.loads(await ws.recv())
            assert event["type"] not in ("error", "mcp_list_tools.failed"), event
            listed += event["type"] == "mcp_list_tools.completed"


async def test_a_sessions_mcp_calls_are_in_its_spend_log(
    tmp_path: Path, mcp_servers: McpServers
) -> None:
    config = tmp_path / "config.yaml"
    model = {"model_name": "voice", "litellm_params": {"model": "openai/gpt-realtime-2"}}
    config.write_text(
        yaml.safe_dump({"model_list": [model], "general_settings": {"master_key": MASTER}})
    )
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    async with (
        Served("--config", str(config), "--emulator", env=env) as served,
        aiohttp.ClientSession() as http,
    ):
        admin = Admin(http, served.port, MASTER)
        key = await admin.generate(key_alias="mcp-user")
        url = f"ws://127.0.0.1:{served.port}/v1/realtime?model=voice"
        headers = {"Authorization": f"Bearer {key}"}
        async with websockets.connect(url, additional_headers=headers) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
            never = {"type": "mcp", "require_approval": "never"}
            await configure(
                ws,
                [
                    {
                        **never,
                        "server_label": "weather",
                        "server_url": mcp_servers.http_url,
                        "allowed_tools": ["get_forecast"],
                    },
                    {
                        **never,
                        "server_label": "rockets",
                        "server_url": mcp_servers.sse_url,
                        "allowed_tools": ["launch_rocket"],
                    },
                ],
            )
            for city in CITIES:
                events = await turn(ws, f"What is the weather forecast for {city}?")
                assert any(e["type"] == "response.mcp_call.completed" for e in events)
            events = await turn(ws, "Please launch a rocket toward Mars.")
            assert any(e["type"] == "response.mcp_call.failed" for e in events)

        async def logged() -> list[dict[str, Any]]:
            status, rows = await admin.get("/spend/logs", api_key=key)
            assert status == 200, rows
            return list(rows)

        (row,) = await until(logged, within=60)
    metadata = row["metadata"]
    assert metadata["user_api_key_alias"] == "mcp-user"
    calls = metadata["mcp_calls"]
    assert list(calls) == ["weather", "rockets"]
    weather, rockets = calls["weather"], calls["rockets"]
    assert (weather["calls"], weather["failed"]) == (2, 0)
    assert weather["output_bytes"] == sum(len(f"Sunny in {c}, 21 degrees") for c in CITIES)
    assert weather["seconds"] > 0
    assert (rockets["calls"], rockets["failed"], rockets["output_bytes"]) == (1, 1, 0)
    assert "Traceback" not in served.stderr
