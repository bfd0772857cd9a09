"""Which keys may use which of the operator's MCP servers: a real ``rtcore serve`` with a
master key and virtual keys (the echo provider behind it), the real MCP server on loopback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.keys.conftest import MASTER, Admin, session
from tests.transports.process import Served

from .conftest import TOKEN, McpServers


async def mcp_update(ws: Any, label: str) -> dict[str, Any]:
    """Ask for the operator's server ``label``; the event that settles it: the listing's
    end, or the error that refused it."""
    tool = {"type": "mcp", "server_label": label, "require_approval": "never"}
    update = {"type": "session.update", "session": {"type": "realtime", "tools": [tool]}}
    await ws.send(json.dumps(update))
    async with asyncio.timeout(30):  # a safety net only
        while True:
            event = json.loads(await ws.recv())
            if event["type"] in ("mcp_list_tools.completed", "mcp_list_tools.failed", "error"):
                return dict(event)


async def test_allowed_keys_limit_a_server_to_those_keys(
    tmp_path: Path, mcp_servers: McpServers
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model_list": [
                    {
                        "model_name": "echo",
                        "litellm_params": {"model": "echo/echo-1"},
                        "model_info": {"mode": "realtime"},
                    }
                ],
                "general_settings": {"master_key": MASTER},
                "mcp_servers": {
                    "ops": {
                        "url": mcp_servers.secure_url,
                        "authentication_token": TOKEN,
                        "allowed_keys": ["support"],
                    },
                    "open": {"url": mcp_servers.sse_url, "transport": "sse"},
                },
            }
        )
    )
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    async with Served("--config", str(config), env=env) as served, aiohttp.ClientSession() as http:
        admin = Admin(http, served.port)
        support = await admin.generate(key_alias="support")
        sales = await admin.generate(key_alias="sales")

        async with session(served.port, support) as ws:
            assert (await mcp_update(ws, "ops"))["type"] == "mcp_list_tools.completed"
        async with session(served.port, MASTER) as ws:
            assert (await mcp_update(ws, "ops"))["type"] == "mcp_list_tools.completed"
        async with session(served.port, sales) as ws:
            refused = await mcp_update(ws, "ops")
            assert refused["type"] == "error"
            assert refused["error"]["param"] == "session.tools[0].server_url"
            assert "(configured servers this key may use: open)" in refused["error"]["message"]
            # The same key, a server open to every key: the session went on.
            assert (await mcp_update(ws, "open"))["type"] == "mcp_list_tools.completed"
    assert TOKEN not in served.stderr
    assert "Traceback" not in served.stderr
