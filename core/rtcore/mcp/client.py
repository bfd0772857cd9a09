"""One MCP server's connection, through the official ``mcp`` SDK (streamable HTTP or SSE).

The SDK's transports are anyio context managers, entered and left in one task: each
connection has a task of its own that holds them open until it is closed, and requests
(tools/list, tools/call) are made from the callers' tasks on the open session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx2
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import TextContent

from rtcore.mcp.errors import McpFailure
from rtcore.mcp.spec import ServerSpec, ToolInfo

log = logging.getLogger(__name__)

# The read timeout of the connection's HTTP client: a streamed answer may be quiet this
# long (each call has its own, shorter, limit on top).
_READ_SECONDS = 300.0
# What one streamed answer may hold before the SDK refuses it, whatever the output cap:
# bounded memory against a runaway server, with room for the cap's own clear error below.
_MAX_EVENT_BYTES = 16 * 1024 * 1024


class McpConnection:
    def __init__(self, spec: ServerSpec, *, connect_timeout_seconds: float) -> None:
        self.spec = spec
        self._connect_timeout = connect_timeout_seconds
        self._session: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
        self._closing = asyncio.Event()
        # The SDK answers a request the server refused with HTTP 4xx/5xx as a JSON-RPC
        # error of its own; the status it had is kept here, to name the failure for what
        # it is (an http_error).
        self._http_status: int | None = None
        self._task = asyncio.create_task(self._hold(), name=f"mcp-{spec.label}")

    async def _hold(self) -> None:
        try:
            async with contextlib.AsyncExitStack() as stack:
                headers = dict(self.spec.headers)
                timeout = httpx2.Timeout(self._connect_timeout, read=_READ_SECONDS)
                if self.spec.transport == "sse":
                    read, write = await stack.enter_async_context(
                        sse_client(
                            self.spec.url,
                            headers=headers,
                            timeout=self._connect_timeout,
                            sse_read_timeout=_READ_SECONDS,
                            httpx_client_factory=self._http_client,
                        )
                    )
                else:
                    http = self._http_client(headers=headers, timeout=timeout)
                    await stack.enter_async_context(http)
                    read, write = await stack.enter_async_context(
                        streamable_http_client(
                            self.spec.url, http_client=http, max_sse_event_size=_MAX_EVENT_BYTES
                        )
                    )
                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                self._session.set_result(session)
                await self._closing.wait()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # the SDK's task groups raise exception groups
            failure = self._classify(exc)
            if not self._session.done():
                self._session.set_exception(failure)
            else:
                log.info("MCP server %r dropped its connection: %s", self.spec.label, failure)

    def _http_client(
        self,
        headers: dict[str, str] | None = None,
        timeout: httpx2.Timeout | None = None,
        auth: httpx2.Auth | None = None,
    ) -> httpx2.AsyncClient:
        client = create_mcp_http_client(headers=headers, timeout=timeout, auth=auth)

        async def seen(response: httpx2.Response) -> None:
            if response.status_code >= 400:
                self._http_status = response.status_code

        client.event_hooks["response"].append(seen)
        return client

    def _classify(self, exc: BaseException) -> McpFailure:
        failure = classify(exc)
        status, self._http_status = self._http_status, None
        if failure.kind == "protocol_error" and status is not None:
            return McpFailure("http_error", f"The MCP server answered HTTP {status}.", status)
        return failure

    async def session(self) -> ClientSession:
        try:
            async with asyncio.timeout(self._connect_timeout):
                return await asyncio.shield(self._session)
        except TimeoutError:
            raise McpFailure(
                "http_error",
                f"The MCP server did not answer within {self._connect_timeout:g} s.",
                504,
            ) from None

    async def list_tools(self) -> list[ToolInfo]:
        session = await self.session()
        tools: list[ToolInfo] = []
        cursor: str | None = None
        try:
            async with asyncio.timeout(self._connect_timeout * 3):
                while True:
                    params: Any = None if cursor is None else {"cursor": cursor}
                    page = await session.list_tools(params=params)
                    for tool in page.tools:
                        tools.append(
                            ToolInfo(
                                name=tool.name,
                                description=tool.description or "",
                                input_schema=dict(tool.input_schema),
                                annotations=None
                                if tool.annotations is None
                                else tool.annotations.model_dump(by_alias=True, exclude_none=True),
                            )
                        )
                    cursor = page.next_cursor
                    if not cursor:
                        return tools
        except TimeoutError:
            raise McpFailure(
                "http_error", "Listing the MCP server's tools timed out.", 504
            ) from None
        except McpFailure:
            raise
        except Exception as exc:
            raise self._classify(exc) from None

    async def call(
        self, name: str, arguments: dict[str, object], *, timeout_seconds: float, max_bytes: int
    ) -> str:
        """The tool's output as text (its text content, else its JSON); ``McpFailure`` when
        the call fails, takes longer than ``timeout_seconds`` or says more than
        ``max_bytes``."""
        session = await self.session()
        self._http_status = None
        try:
            async with asyncio.timeout(timeout_seconds):
                result = await session.call_tool(name, dict(arguments))
        except TimeoutError:
            raise McpFailure(
                "http_error",
                f"The MCP tool '{name}' did not answer within the gateway's limit of "
                f"{timeout_seconds:g} s.",
                504,
            ) from None
        except Exception as exc:
            raise self._classify(exc) from None
        texts = [block.text for block in result.content if isinstance(block, TextContent)]
        if texts:
            output = "\n".join(texts)
        elif result.structured_content is not None:
            output = json.dumps(result.structured_content)
        else:
            output = json.dumps([b.model_dump(mode="json") for b in result.content])
        size = len(output.encode())
        if result.is_error:
            raise McpFailure("tool_execution_error", _cap(output, max_bytes))
        if size > max_bytes:
            raise McpFailure(
                "tool_execution_error",
                f"The tool's output ({size} bytes) is over the gateway's limit of "
                f"{max_bytes} bytes.",
            )
        return output

    async def aclose(self) -> None:
        self._closing.set()
        try:
            async with asyncio.timeout(self._connect_timeout):
                await self._task
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if not self._session.done():
            self._session.cancel()
        elif not self._session.cancelled():
            self._session.exception()  # retrieved: a failed connection is not an error here


def _cap(text: str, max_bytes: int) -> str:
    data = text.encode()
    return text if len(data) <= max_bytes else data[:max_bytes].decode(errors="ignore") + "..."


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


def classify(exc: BaseException) -> McpFailure:
    """What went wrong, as OpenAI's MCP error kinds; never the request's headers."""
    leaves = list(_leaves(exc))
    for leaf in leaves:
        if isinstance(leaf, McpFailure):
            return leaf
        if isinstance(leaf, httpx2.HTTPStatusError):
            status = leaf.response.status_code
            return McpFailure("http_error", f"The MCP server answered HTTP {status}.", status)
        if isinstance(leaf, MCPError):
            return McpFailure("protocol_error", leaf.error.message, leaf.error.code)
    for leaf in leaves:
        if isinstance(leaf, httpx2.TimeoutException):
            return McpFailure("http_error", "The MCP server did not answer in time.", 504)
        if isinstance(leaf, httpx2.TransportError | OSError):
            return McpFailure(
                "http_error", f"The MCP server could not be reached ({type(leaf).__name__}).", 503
            )
    first = leaves[0] if leaves else exc
    return McpFailure("protocol_error", f"The MCP session failed: {type(first).__name__}.", -32603)
