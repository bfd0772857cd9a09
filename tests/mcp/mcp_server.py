"""A real MCP server for the tests, built with the official SDK (``MCPServer``, once
``FastMCP``): run as a process of its own, it serves the same tools over streamable HTTP
(``/mcp``), over SSE (``/sse``) and, behind a bearer token, over streamable HTTP again
(``/mcp`` of the "secure" port); it prints ``<name> <port>`` for each, then ``ready``."""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

TOKEN = "s3cret-token"
MEGABYTE = 1024 * 1024

server = MCPServer("rtcore-test-tools")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def get_forecast(city: str) -> str:
    """Get the weather forecast for a city."""
    return f"Sunny in {city}, 21 degrees"


@server.tool(annotations=ToolAnnotations(read_only_hint=False))
def shred_document(name: str) -> str:
    """Shred a document from the archive."""
    return f"Shredded {name}"


# What became of each region's census calls (GET /census): a test sees that a call the
# gateway gave up on was cancelled here too, not left running.
censuses: dict[str, dict[str, int]] = {}


@server.tool()
async def slow_census(region: str) -> str:
    """Count the population of a region, very slowly."""
    counts = censuses.setdefault(region, {"started": 0, "cancelled": 0})
    counts["started"] += 1
    try:
        await asyncio.sleep(3600)  # never answers in a test's lifetime: the gateway stops it
    except asyncio.CancelledError:
        counts["cancelled"] += 1
        raise
    return "never"


@server.custom_route("/census", methods=["GET"])
async def census(request: Request) -> Response:
    return JSONResponse(censuses)


@server.tool()
def launch_rocket(target: str) -> str:
    """Launch a rocket toward a planet."""
    raise ToolError("the launch pad is on fire")


@server.tool()
def giant_almanac(year: int) -> str:
    """Print the complete almanac of a year."""
    return "x" * MEGABYTE


class RequireToken:
    """Plain ASGI: 401 for a request without the bearer token."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            if headers.get(b"authorization") != f"Bearer {TOKEN}".encode():
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b"no token"})
                return
        await self.app(scope, receive, send)


def _socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.setblocking(False)
    return sock


async def main() -> None:
    apps = {
        "http": server.streamable_http_app(),
        "sse": server.sse_app(),
        "secure": RequireToken(server.streamable_http_app()),
    }
    servers = []
    for name, app in apps.items():
        sock = _socket()
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        servers.append((uvicorn.Server(config), sock))
        print(name, sock.getsockname()[1], flush=True)
    tasks = [asyncio.create_task(s.serve(sockets=[sock])) for s, sock in servers]
    # uvicorn says it serves by a flag only (no event to wait on).
    while not all(s.started for s, _ in servers):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    print("ready", flush=True)
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
