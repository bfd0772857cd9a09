"""What a session's MCP server is: where it is, with which credentials, which of its tools
the model may call and which of those wait for the client's approval."""

from __future__ import annotations

from typing import Literal

import msgspec

from rtcore.provider.remote_tools import RemoteMcpServer, RemoteToolFilter

Transport = Literal["streamable_http", "sse"]


class ToolInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One tool as the server listed it."""

    name: str
    description: str = ""
    input_schema: dict[str, object] = msgspec.field(default_factory=dict)
    annotations: dict[str, object] | None = None

    @property
    def read_only(self) -> bool:
        return bool(self.annotations and self.annotations.get("readOnlyHint") is True)


class ToolFilter(msgspec.Struct, frozen=True, kw_only=True):
    """OpenAI's tool filter: by names, by the read-only annotation; a tool must match
    every part given."""

    names: tuple[str, ...] | None = None
    read_only: bool | None = None

    def matches(self, tool: ToolInfo) -> bool:
        if self.names is not None and tool.name not in self.names:
            return False
        return self.read_only is None or tool.read_only == self.read_only


class Approval(msgspec.Struct, frozen=True, kw_only=True):
    """``require_approval``: "always", "never", or filters. A tool the ``never`` filter
    matches runs at once; any other waits for the client, as OpenAI decides it."""

    mode: Literal["always", "never", "filter"] = "always"
    always: ToolFilter | None = None
    never: ToolFilter | None = None

    def required(self, tool: ToolInfo) -> bool:
        if self.mode != "filter":
            return self.mode == "always"
        return not (self.never is not None and self.never.matches(tool))


class ServerSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A server a session uses, resolved: the client's URL or the operator's server of that
    label. ``headers`` carry credentials: they are sent to the server and never shown or
    logged (``__repr__`` leaves them out)."""

    label: str
    url: str
    transport: Transport = "streamable_http"
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    allowed: ToolFilter | None = None
    approval: Approval = Approval()
    description: str | None = None
    # The operator's server (its URL and credentials are not the client's to see).
    operator: bool = False

    def __repr__(self) -> str:
        where = "operator's" if self.operator else self.url
        return f"ServerSpec({self.label!r}, {where}, {self.transport})"

    def offers(self, tool: ToolInfo) -> bool:
        return self.allowed is None or self.allowed.matches(tool)

    def same_server(self, other: ServerSpec) -> bool:
        """Whether ``other`` reaches the same server the same way (no new connection)."""
        return (self.url, self.transport, self.headers) == (
            other.url,
            other.transport,
            other.headers,
        )


class OperatorServer(msgspec.Struct, frozen=True, kw_only=True):
    """An entry of the config's ``mcp_servers``: sessions use it by its name as their
    ``server_label``, without holding its credentials. ``allowed_keys`` (key aliases)
    limits which virtual keys may; None: every caller the gateway lets in."""

    name: str
    url: str
    transport: Transport = "streamable_http"
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    description: str | None = None
    allowed_keys: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return f"OperatorServer({self.name!r}, {self.transport})"

    def usable_by(self, key_alias: str | None, *, master: bool) -> bool:
        if master or self.allowed_keys is None:
            return True
        return key_alias is not None and key_alias in self.allowed_keys


class McpAccess(msgspec.Struct, frozen=True, kw_only=True):
    """What MCP a session may use: the operator's servers open to its caller (by name),
    whether it may name servers by URL itself, and the limits on each call."""

    servers: dict[str, OperatorServer] = msgspec.field(default_factory=dict)
    client_urls: bool = True
    call_timeout_seconds: float = 30.0
    max_output_bytes: int = 100_000
    connect_timeout_seconds: float = 10.0

    def __repr__(self) -> str:
        return f"McpAccess({sorted(self.servers)}, client_urls={self.client_urls})"


def transport_for(url: str) -> Transport:
    """A client's URL says nothing of its transport: one whose path ends in ``/sse`` is
    the SSE transport, any other streamable HTTP (as MCP servers name their endpoints)."""
    path = url.split("?", 1)[0].rstrip("/")
    return "sse" if path.endswith("/sse") else "streamable_http"


def _remote_filter(f: ToolFilter | None) -> RemoteToolFilter | None:
    return None if f is None else RemoteToolFilter(names=f.names, read_only=f.read_only)


def remote_server(spec: ServerSpec) -> RemoteMcpServer:
    """``spec`` for a vendor that runs the server's tools itself: the URL and headers the
    gateway resolved (the operator's, for a server named by label alone)."""
    return RemoteMcpServer(
        label=spec.label,
        url=spec.url,
        headers=dict(spec.headers),
        description=spec.description,
        allowed=_remote_filter(spec.allowed),
        approval=spec.approval.mode,
        approve_always=_remote_filter(spec.approval.always),
        approve_never=_remote_filter(spec.approval.never),
    )
