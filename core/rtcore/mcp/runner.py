"""A session's MCP work: its servers' connections, and each listing and call in a task of
its own, so a slow or dead server delays only the reply that waits on it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from rtcore.mcp.errors import McpFailure
from rtcore.mcp.jobs import (
    Called,
    CallTool,
    CancelCall,
    Disconnect,
    Job,
    Listed,
    ListTools,
    Result,
)
from rtcore.mcp.spec import McpAccess, ServerSpec

if TYPE_CHECKING:
    from rtcore.mcp.client import McpConnection

log = logging.getLogger(__name__)

Deliver = Callable[[Result], Awaitable[None]]
# Told of each call once over: the server's label, its seconds, the bytes of output it
# gave, whether it failed (or was stopped).
Count = Callable[[str, float, int, bool], None]


async def load_client() -> None:
    """The MCP SDK (and its HTTP stack), imported in a thread: on the event loop its import
    would stop every session's audio for a second or more."""
    if "rtcore.mcp.client" not in sys.modules:
        await asyncio.to_thread(importlib.import_module, "rtcore.mcp.client")


class McpRunner:
    """``deliver`` is given each result, in the task that got it; ``count`` is told of
    each call (the session's spend record keeps them)."""

    def __init__(self, access: McpAccess, deliver: Deliver, count: Count | None = None) -> None:
        self._access = access
        self._deliver = deliver
        self._count = count
        self._connections: dict[str, McpConnection] = {}
        # Servers whose SDK load or connection is under way, by label (dropped: cancelled).
        self._opening: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Calls running, by the mcp_call item waiting for each (to stop one).
        self._calls: dict[str, asyncio.Task[None]] = {}
        self._closed = False

    def start(self, jobs: Iterable[Job]) -> None:
        for job in jobs:
            if self._closed:
                return
            match job:
                case ListTools(spec=spec):
                    self._drop(spec.label)
                    self._opening[spec.label] = self._spawn(
                        self._open(spec), f"mcp-list-{spec.label}"
                    )
                case CallTool():
                    call = self._spawn(self._call(job), f"mcp-call-{job.label}")
                    self._calls[job.item_id] = call
                    call.add_done_callback(functools.partial(self._ended, job.item_id))
                case CancelCall(item_id=item_id):
                    running = self._calls.pop(item_id, None)
                    if running is not None:
                        running.cancel()
                case Disconnect(label=label):
                    self._drop(label)

    def _ended(self, item_id: str, _: asyncio.Task[None]) -> None:
        self._calls.pop(item_id, None)

    def _spawn(self, work: Awaitable[None], name: str) -> asyncio.Task[None]:
        async def run() -> None:
            try:
                await work
            except Exception:
                # A bug must not vanish with its task: the log has it; the session goes on.
                log.exception("MCP work %s failed", name)

        task = asyncio.create_task(run(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _open(self, spec: ServerSpec) -> None:
        """Connect to a server and list its tools; the SDK is loaded by the first session
        that uses it (``load_client``)."""
        await load_client()
        from rtcore.mcp.client import McpConnection

        connection = McpConnection(
            spec, connect_timeout_seconds=self._access.connect_timeout_seconds
        )
        self._opening.pop(spec.label, None)
        self._connections[spec.label] = connection
        await self._list(connection)

    def _drop(self, label: str) -> None:
        opening = self._opening.pop(label, None)
        if opening is not None:
            opening.cancel()
        old = self._connections.pop(label, None)
        if old is not None:
            self._spawn(old.aclose(), f"mcp-close-{label}")

    async def _list(self, connection: McpConnection) -> None:
        spec = connection.spec
        try:
            tools = await connection.list_tools()
        except McpFailure as failure:
            log.info("MCP server %r: listing tools failed (%s)", spec.label, failure.message)
            await self._deliver(Listed(spec=spec, failure=failure))
            return
        await self._deliver(Listed(spec=spec, tools=tools))

    async def _call(self, job: CallTool) -> None:
        connection = self._connections.get(job.label)
        started = time.monotonic()
        output: str | None = None
        try:
            if connection is None:
                raise McpFailure("http_error", "The MCP server is no longer connected.", 503)
            output = await connection.call(
                job.name,
                job.arguments,
                timeout_seconds=self._access.call_timeout_seconds,
                max_bytes=self._access.max_output_bytes,
            )
        except McpFailure as failure:
            log.info("MCP tool %s/%s failed (%s)", job.label, job.name, failure.kind)
            self._counted(job, started, None)
            await self._deliver(Called(item_id=job.item_id, failure=failure))
            return
        except asyncio.CancelledError:
            self._counted(job, started, None)  # stopped: its response ended without it
            raise
        self._counted(job, started, output)
        await self._deliver(Called(item_id=job.item_id, output=output))

    def _counted(self, job: CallTool, started: float, output: str | None) -> None:
        if self._count is not None:
            size = 0 if output is None else len(output.encode())
            self._count(job.label, time.monotonic() - started, size, output is None)

    async def aclose(self) -> None:
        """The session is over: its calls stop, its connections close."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        closing = [c.aclose() for c in self._connections.values()]
        self._connections.clear()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(*closing, return_exceptions=True)
