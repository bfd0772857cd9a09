"""The benchmark's MCP server: a few tools, built with the official SDK (``MCPServer``,
once ``FastMCP``), served over streamable HTTP on loopback by a process of its own.
``python -m bench.mcp_tools`` prints ``http <port>``, then ``ready`` once it serves."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("rtcore-bench-tools")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def get_forecast(city: str) -> str:
    """Get the weather forecast for a city."""
    return f"Sunny in {city}, 21 degrees"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def order_status(order_id: str) -> str:
    """Look up the delivery status of an order."""
    return f"Order {order_id} ships tomorrow"


@server.tool()
def book_table(restaurant: str, guests: int) -> str:
    """Book a table at a restaurant."""
    return f"Booked {restaurant} for {guests}"


async def main() -> None:
    # The SDK logs each HTTP session at info: noise on the bench's terminal.
    logging.getLogger("mcp").setLevel(logging.WARNING)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    sock.setblocking(False)
    config = uvicorn.Config(server.streamable_http_app(), log_level="warning", lifespan="on")
    http = uvicorn.Server(config)
    print("http", sock.getsockname()[1], flush=True)
    serving = asyncio.create_task(http.serve(sockets=[sock]))
    # uvicorn says it serves by a flag only (no event to wait on).
    while not http.started and not serving.done():  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    print("ready", flush=True)
    await serving


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
