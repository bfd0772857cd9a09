"""rtcore.mcp.client against a real MCP server (the SDK's), over both transports."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rtcore.mcp.client import McpConnection
from rtcore.mcp.errors import McpFailure
from rtcore.mcp.spec import ServerSpec

from .conftest import TOKEN_HEADER, McpServers, free_port


def spec(url: str, transport: str = "streamable_http", **kw: Any) -> ServerSpec:
    return ServerSpec(**{"label": "tools", "url": url, "transport": transport, **kw})


@pytest.mark.parametrize("transport", ["streamable_http", "sse"])
async def test_lists_and_calls_over_each_transport(mcp_servers: McpServers, transport: str) -> None:
    url = mcp_servers.http_url if transport == "streamable_http" else mcp_servers.sse_url
    conn = McpConnection(spec(url, transport), connect_timeout_seconds=20)
    try:
        tools = {t.name: t for t in await conn.list_tools()}
        assert set(tools) >= {"get_forecast", "shred_document", "slow_census"}
        assert tools["get_forecast"].read_only
        assert not tools["shred_document"].read_only
        assert tools["get_forecast"].input_schema["properties"] == {
            "city": {"title": "City", "type": "string"}
        }
        out = await conn.call("get_forecast", {"city": "Paris"}, timeout_seconds=30, max_bytes=1000)
        assert out == "Sunny in Paris, 21 degrees"
    finally:
        await conn.aclose()


async def test_failures_have_openais_kinds(mcp_servers: McpServers) -> None:
    conn = McpConnection(spec(mcp_servers.http_url), connect_timeout_seconds=20)
    try:
        with pytest.raises(McpFailure) as err:
            await conn.call("launch_rocket", {"target": "Mars"}, timeout_seconds=30, max_bytes=1000)
        assert err.value.kind == "tool_execution_error"
        assert "the launch pad is on fire" in err.value.message
        with pytest.raises(McpFailure) as err:
            await conn.call("slow_census", {"region": "Alps"}, timeout_seconds=0.5, max_bytes=1000)
        assert (err.value.kind, err.value.code) == ("http_error", 504)
        with pytest.raises(McpFailure) as err:
            await conn.call("giant_almanac", {"year": 1999}, timeout_seconds=30, max_bytes=100_000)
        assert err.value.kind == "tool_execution_error"
        assert "1048576 bytes" in err.value.message
        with pytest.raises(McpFailure) as err:
            await conn.call("no_such_tool", {}, timeout_seconds=30, max_bytes=1000)
        assert err.value.kind in ("protocol_error", "tool_execution_error")
        # The connection is still good after all that.
        out = await conn.call("get_forecast", {"city": "Oslo"}, timeout_seconds=30, max_bytes=1000)
        assert out == "Sunny in Oslo, 21 degrees"
    finally:
        await conn.aclose()


async def test_a_server_that_is_down_is_an_http_error() -> None:
    conn = McpConnection(spec(f"http://127.0.0.1:{free_port()}/mcp"), connect_timeout_seconds=20)
    try:
        with pytest.raises(McpFailure) as err:
            await conn.list_tools()
        assert (err.value.kind, err.value.code) == ("http_error", 503)
    finally:
        await conn.aclose()


async def test_credentials_are_sent_and_a_missing_token_is_a_401(mcp_servers: McpServers) -> None:
    refused = McpConnection(spec(mcp_servers.secure_url), connect_timeout_seconds=20)
    allowed = McpConnection(
        spec(mcp_servers.secure_url, headers=TOKEN_HEADER), connect_timeout_seconds=20
    )
    try:
        with pytest.raises(McpFailure) as err:
            await refused.list_tools()
        assert (err.value.kind, err.value.code) == ("http_error", 401)
        assert any(t.name == "get_forecast" for t in await allowed.list_tools())
        assert "s3cret" not in repr(allowed.spec)
    finally:
        await refused.aclose()
        await allowed.aclose()


async def test_a_sessions_connections_close_with_it(mcp_servers: McpServers) -> None:
    """The runner of a session: its listing delivered, then closed with the session, every
    connection and task of it ended."""
    from rtcore.mcp.jobs import Listed, ListTools, Result
    from rtcore.mcp.runner import McpRunner
    from rtcore.mcp.spec import McpAccess

    got: list[Result] = []
    delivered = asyncio.Event()

    async def deliver(result: Result) -> None:
        got.append(result)
        delivered.set()

    runner = McpRunner(McpAccess(connect_timeout_seconds=20), deliver)
    runner.start([ListTools(spec=spec(mcp_servers.http_url, label="a"))])
    await delivered.wait()
    (listed,) = got
    assert isinstance(listed, Listed)
    assert listed.tools
    connections = list(runner._connections.values())
    await runner.aclose()
    assert all(c._task.done() for c in connections)
    assert not runner._tasks
