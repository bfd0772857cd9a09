"""A session's ``mcp`` tools (``session.tools[i]`` with ``type: "mcp"``) as servers the
gateway connects to: validated against what the caller may use (rtcore.mcp.spec.McpAccess)."""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from rtcore.mcp.spec import (
    Approval,
    McpAccess,
    ServerSpec,
    ToolFilter,
    transport_for,
)
from rtcore.protocol.errors import RealtimeError
from rtcore.protocol.wire import McpApprovalFilterWire, McpToolFilterWire, ToolWire

_MCP_ONLY = (
    "server_label",
    "server_url",
    "connector_id",
    "tunnel_id",
    "server_description",
    "headers",
    "authorization",
    "allowed_tools",
    "require_approval",
)


def split_tools(tools: list[ToolWire]) -> tuple[list[ToolWire], list[tuple[int, ToolWire]]]:
    """Function tools, and the MCP ones with their index in ``tools`` (for error params)."""
    functions: list[ToolWire] = []
    servers: list[tuple[int, ToolWire]] = []
    for i, tool in enumerate(tools):
        if tool.type == "mcp":
            servers.append((i, tool))
        else:
            functions.append(tool)
    return functions, servers


def refuse_mcp_fields(tools: list[ToolWire], param: str) -> None:
    """MCP fields on a function tool mean the client sent something it did not intend."""
    for i, tool in enumerate(tools):
        for name in _MCP_ONLY:
            if tool.type != "mcp" and getattr(tool, name) is not UNSET:
                raise RealtimeError(
                    "unknown_parameter",
                    f"Unknown parameter: '{param}[{i}].{name}' (a field of 'mcp' tools).",
                    param=f"{param}[{i}].{name}",
                )


def parse_mcp_tools(
    servers: list[tuple[int, ToolWire]], access: McpAccess, param: str
) -> tuple[ServerSpec, ...]:
    out: list[ServerSpec] = []
    for i, tool in servers:
        out.append(_server(tool, access, f"{param}[{i}]"))
    labels = [s.label for s in out]
    if len(set(labels)) != len(labels):
        raise RealtimeError(
            "invalid_value", "MCP tools' server_label values must be unique.", param=param
        )
    return tuple(out)


def _text(value: str | UnsetType | None) -> str | None:
    return None if value is UNSET or value is None else value


def _server(tool: ToolWire, access: McpAccess, where: str) -> ServerSpec:
    label = _label(tool, where)
    headers = _client_headers(tool)
    allowed = _filter(tool.allowed_tools, f"{where}.allowed_tools")
    approval = _approval(tool.require_approval, f"{where}.require_approval")
    description = _text(tool.server_description)
    url = _text(tool.server_url)
    if url is None:
        operator = access.servers.get(label)
        if operator is None:
            raise RealtimeError(
                "invalid_value",
                f"No MCP server labelled '{label}' is available to this key; give its "
                f"server_url{_offered(access)}.",
                param=f"{where}.server_url",
            )
        # The operator's credentials, then the client's own headers (which may add to them).
        return ServerSpec(
            label=label,
            url=operator.url,
            transport=operator.transport,
            headers={**operator.headers, **headers},
            allowed=allowed,
            approval=approval,
            description=description or operator.description,
            operator=True,
        )
    _check_client_url(url, access, where)
    return ServerSpec(
        label=label,
        url=url,
        transport=transport_for(url),
        headers=headers,
        allowed=allowed,
        approval=approval,
        description=description,
    )


def _label(tool: ToolWire, where: str) -> str:
    """The tool's server label, once it is sure the tool names a server this gateway can
    reach (no function fields, no OpenAI connector or tunnel)."""
    label = _text(tool.server_label)
    if not label:
        raise RealtimeError(
            "missing_required_parameter",
            f"Missing required parameter: '{where}.server_label'.",
            param=f"{where}.server_label",
        )
    for name in ("name", "description", "parameters", "function", "strict"):
        if getattr(tool, name) is not UNSET:
            raise RealtimeError(
                "unknown_parameter",
                f"Unknown parameter: '{where}.{name}' (a field of 'function' tools).",
                param=f"{where}.{name}",
            )
    if _text(tool.connector_id) is not None or _text(tool.tunnel_id) is not None:
        field = "connector_id" if _text(tool.connector_id) is not None else "tunnel_id"
        raise RealtimeError(
            "invalid_value",
            f"This gateway does not offer OpenAI's {field.replace('_id', '')}s; name an MCP "
            "server by server_url, or by the server_label of one its operator configured.",
            param=f"{where}.{field}",
        )
    return label


def _client_headers(tool: ToolWire) -> dict[str, str]:
    """The headers the client gives for the server, its ``authorization`` as a bearer token."""
    headers = dict(tool.headers or {}) if not isinstance(tool.headers, UnsetType) else {}
    authorization = _text(tool.authorization)
    if authorization is not None:
        headers["Authorization"] = (
            authorization
            if authorization.lower().startswith("bearer ")
            else f"Bearer {authorization}"
        )
    return headers


def _check_client_url(url: str, access: McpAccess, where: str) -> None:
    """A server the client names by URL: allowed only where the operator lets clients do so."""
    if not access.client_urls:
        raise RealtimeError(
            "invalid_value",
            "This gateway connects only to the MCP servers its operator configured: name one "
            f"by its server_label, without server_url{_offered(access)}.",
            param=f"{where}.server_url",
        )
    if not url.startswith(("http://", "https://")):
        raise RealtimeError(
            "invalid_value",
            f"Invalid '{where}.server_url': expected an http:// or https:// URL.",
            param=f"{where}.server_url",
        )


def _offered(access: McpAccess) -> str:
    names = sorted(access.servers)
    return f" (configured servers this key may use: {', '.join(names)})" if names else ""


def _filter(
    value: list[str] | McpToolFilterWire | UnsetType | None, where: str
) -> ToolFilter | None:
    if value is UNSET or value is None:
        return None
    if isinstance(value, list):
        return ToolFilter(names=tuple(value))
    names = None if value.tool_names is UNSET or value.tool_names is None else value.tool_names
    read_only = None if value.read_only is UNSET or value.read_only is None else value.read_only
    return ToolFilter(names=None if names is None else tuple(names), read_only=read_only)


def _approval(value: str | McpApprovalFilterWire | UnsetType | None, where: str) -> Approval:
    if value is UNSET or value is None:
        return Approval()  # OpenAI's default: every call waits for the client's approval
    if isinstance(value, str):
        if value not in ("always", "never"):
            raise RealtimeError(
                "invalid_value",
                f"Invalid value: '{value}'. Supported values are: 'always' and 'never', or a "
                "filter object {always, never}.",
                param=where,
            )
        return Approval(mode="always" if value == "always" else "never")
    return Approval(
        mode="filter",
        always=_filter(value.always, f"{where}.always"),
        never=_filter(value.never, f"{where}.never"),
    )
