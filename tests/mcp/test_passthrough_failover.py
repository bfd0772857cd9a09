"""A session whose OpenAI deployment ran its MCP tools (``mcp_passthrough``) moves to Nova
Sonic, which cannot: the gateway takes the tools over (lists the servers itself, runs the
calls). The OpenAI emulator is cut as it is given the session's MCP servers (its listing
never happens), and refuses the reconnect (close 4000): the session fails over."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rtcore_openai_emulator import OpenAIRealtimeEmulator
from rtcore_openai_emulator.stats import SessionUpdate
from tests.clients.conftest import nova_emulator, nova_params, write_config
from tests.clients.test_openai_sdk import deltas
from tests.transports.process import Served

from .conftest import McpServers
from .test_passthrough import connect
from .test_sessions import FORECAST, mcp, of_type, the_call

START_SECONDS = 60.0
MOVED = re.compile(r"session moved from pass-openai \(openai-realtime\) to pass-nova")


class _CutAtMcp(list[SessionUpdate]):
    """The emulator's record of ``session.update`` events: the first that names an MCP
    server cuts its connection before the emulator acts on it, and the reconnect is
    refused with close 4000."""

    def __init__(self, emulator: OpenAIRealtimeEmulator) -> None:
        super().__init__()
        self._emulator = emulator

    def append(self, update: SessionUpdate) -> None:
        super().append(update)
        tools = update.session.get("tools") or []
        if any(t.get("type") == "mcp" for t in tools):
            self._emulator.inject("close=4000@0")
            self._emulator.drop_connections()


@contextmanager
def cut_at_mcp() -> Iterator[str]:
    started = threading.Event()
    found: dict[str, str] = {}
    running: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def serve() -> None:
        stop = asyncio.Event()
        async with OpenAIRealtimeEmulator(realtime_factor=0) as emulator:
            emulator.stats.session_updates = _CutAtMcp(emulator)
            running.append((asyncio.get_running_loop(), stop))
            found["api_base"] = emulator.url_for("openai")
            started.set()
            await stop.wait()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    try:
        if not started.wait(START_SECONDS):
            raise AssertionError("the OpenAI emulator did not start")
        yield found["api_base"]
    finally:
        for loop, stop in running:
            loop.call_soon_threadsafe(stop.set)
        thread.join(15)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with cut_at_mcp() as api_base, nova_emulator(tmp_path) as (endpoint, ca_file):
        primary = {
            "model_name": "voice",
            "litellm_params": {
                "model": "openai/gpt-realtime-2",
                "api_base": api_base,
                "api_key": "sk-passthrough-test",
                "mcp_passthrough": True,
            },
            "model_info": {"mode": "realtime", "id": "pass-openai"},
        }
        fallback = {
            "model_name": "voice-nova",
            "litellm_params": {
                "model": "bedrock/amazon.nova-2-sonic-v1:0",
                **nova_params(endpoint, ca_file),
            },
            "model_info": {"mode": "realtime", "id": "pass-nova"},
        }
        routing = {"fallbacks": [{"voice": ["voice-nova"]}], "cooldown_time": 0}
        config = write_config(tmp_path / "config.yaml", [primary, fallback], routing)
        with Served("--config", str(config)) as served:
            yield served
        assert "Traceback" not in served.stderr, served.stderr


async def test_the_gateway_takes_the_tools_over(served: Served, mcp_servers: McpServers) -> None:
    async with connect(served, "voice") as s:
        listed = await s.configure(mcp("weather", mcp_servers.http_url, require_approval="never"))
        (added,) = of_type(listed, "conversation.item.added")
        assert added["item"]["type"] == "mcp_list_tools"
        assert added["item"]["id"].startswith("item_")  # the gateway's listing
        assert of_type(listed, "mcp_list_tools.completed")
        first = await s.ask("What is the weather forecast for Paris?")
        call = the_call(first)
        assert call["id"].startswith("item_")  # the gateway ran it
        assert call["output"] == FORECAST
        reply = await s.until("response.done")
    said = deltas(reply, "response.output_text.delta")
    assert "The get_forecast tool returned" in said
    assert "Sunny in Paris" in said
    assert MOVED.search(served.stderr), served.stderr
