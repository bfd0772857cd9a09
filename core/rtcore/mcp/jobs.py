"""What the session asks of its MCP servers, and what comes back: the session decides (no
I/O), ``rtcore.mcp.runner`` does the work in tasks of its own, off the audio path."""

from __future__ import annotations

import msgspec

from rtcore.mcp.errors import McpFailure
from rtcore.mcp.spec import ServerSpec, ToolInfo


class ListTools(msgspec.Struct, frozen=True, kw_only=True):
    """Connect to ``spec`` (replacing any connection of that label) and list its tools."""

    spec: ServerSpec


class CallTool(msgspec.Struct, frozen=True, kw_only=True):
    """Run tool ``name`` of server ``label``; the mcp_call item ``item_id`` waits for it."""

    item_id: str
    label: str
    name: str
    arguments: dict[str, object]


class CancelCall(msgspec.Struct, frozen=True, kw_only=True):
    """Stop the call ``item_id`` waits for: its response ended without it."""

    item_id: str


class Disconnect(msgspec.Struct, frozen=True, kw_only=True):
    label: str


Job = ListTools | CallTool | CancelCall | Disconnect


class Listed(msgspec.Struct, frozen=True, kw_only=True):
    spec: ServerSpec
    tools: list[ToolInfo] | None = None
    failure: McpFailure | None = None


class Called(msgspec.Struct, frozen=True, kw_only=True):
    item_id: str
    output: str | None = None
    failure: McpFailure | None = None


Result = Listed | Called
