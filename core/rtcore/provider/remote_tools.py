"""The messages of MCP tools a vendor runs itself (``Capabilities.remote_mcp``): the servers
it is given, the client's answers to its approval requests, and its listings and calls as
it reports them. Part of the boundary (``rtcore.provider.messages`` holds them too)."""

from __future__ import annotations

from typing import Literal

import msgspec


class RemoteToolFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which of a server's tools a rule takes: by name, by the read-only annotation (a
    tool must match every part given)."""

    names: tuple[str, ...] | None = None
    read_only: bool | None = None


class RemoteMcpServer(msgspec.Struct, frozen=True, kw_only=True):
    """An MCP server the vendor connects to itself (``Capabilities.remote_mcp``), as the
    gateway resolved it: an operator's server carries the operator's URL and credentials.
    ``headers`` are secrets, for the vendor only (``__repr__`` leaves them out).
    ``approval``: every call waits for the client (``"always"``), none does (``"never"``),
    or (``"filter"``) those the ``approve_never`` filter does not match wait."""

    label: str
    url: str
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    description: str | None = None
    allowed: RemoteToolFilter | None = None
    approval: Literal["always", "never", "filter"] = "always"
    approve_always: RemoteToolFilter | None = None
    approve_never: RemoteToolFilter | None = None

    def __repr__(self) -> str:
        return f"RemoteMcpServer({self.label!r}, {self.url!r})"


class AnswerApproval(msgspec.Struct, frozen=True, kw_only=True, tag="answer_approval"):
    """The client answered the vendor's approval request ``approval_request_id``
    (``RemoteApprovalRequest``): the call runs (``approve``) or not; the answer is the
    conversation item ``item_id``."""

    item_id: str
    approval_request_id: str
    approve: bool
    reason: str | None = None
    previous_item_id: str | None = None


class RemoteTool(msgspec.Struct, frozen=True, kw_only=True):
    """A tool as the vendor listed it from a server."""

    name: str
    description: str = ""
    input_schema: dict[str, object] = msgspec.field(default_factory=dict)
    annotations: dict[str, object] | None = None


class RemoteToolError(msgspec.Struct, frozen=True, kw_only=True):
    """Why the vendor's call failed: ``kind`` is "http_error", "protocol_error" or
    "tool_execution_error"; ``code`` the HTTP status or JSON-RPC code."""

    kind: str
    message: str
    code: int | None = None


ListingStage = Literal["in_progress", "completed", "failed"]
CallStage = Literal[
    "added", "arguments_delta", "arguments_done", "in_progress", "completed", "failed", "done"
]


class RemoteToolsListed(msgspec.Struct, frozen=True, kw_only=True, tag="remote_tools_listed"):
    """The vendor lists server ``server_label``'s tools, as the session item ``item_id``
    (the provider names it): begun, then completed (with ``tools``) or failed."""

    item_id: str
    server_label: str
    stage: ListingStage
    tools: tuple[RemoteTool, ...] = ()


class RemoteToolCall(msgspec.Struct, frozen=True, kw_only=True, tag="remote_tool_call"):
    """One step of the vendor's call to a server's tool, output item ``item_id`` of
    ``response_id``, each step once, in order: ``added`` (the item), ``arguments_delta``
    (``delta``), ``arguments_done`` (``arguments``), ``in_progress``, ``completed`` or
    ``failed``, then ``done`` (the item's ``output`` or ``error``)."""

    response_id: str
    item_id: str
    stage: CallStage
    server_label: str = ""
    name: str = ""
    arguments: str = ""
    delta: str = ""
    output: str | None = None
    error: RemoteToolError | None = None
    approval_request_id: str | None = None


class RemoteApprovalRequest(
    msgspec.Struct, frozen=True, kw_only=True, tag="remote_approval_request"
):
    """The vendor asks the client whether to run ``name`` of ``server_label``: output item
    ``item_id`` of ``response_id``, answered with ``AnswerApproval``."""

    response_id: str
    item_id: str
    server_label: str
    name: str
    arguments: str
