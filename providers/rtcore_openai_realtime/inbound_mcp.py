"""The vendor's MCP events (a deployment with ``mcp_passthrough``) -> neutral events, one
for each, in order (the SDK's types: ``openai/types/realtime/*mcp*``). The vendor names
its MCP items: the core knows them by the vendor's ids. No I/O."""

from __future__ import annotations

from typing import Any

from rtcore.provider import messages as n
from rtcore.provider import remote_tools as rt
from rtcore_openai_realtime.upstream import Upstream

# response.mcp_call.* and response.mcp_call_arguments.* -> the call's step.
_CALL_STEPS: dict[str, rt.CallStage] = {
    "response.mcp_call_arguments.delta": "arguments_delta",
    "response.mcp_call_arguments.done": "arguments_done",
    "response.mcp_call.in_progress": "in_progress",
    "response.mcp_call.completed": "completed",
    "response.mcp_call.failed": "failed",
}


def _tools(raw: Any) -> tuple[rt.RemoteTool, ...]:
    out = []
    for tool in raw or ():
        if not isinstance(tool, dict):
            continue
        schema = tool.get("input_schema")
        annotations = tool.get("annotations")
        out.append(
            rt.RemoteTool(
                name=str(tool.get("name") or ""),
                description=str(tool.get("description") or ""),
                input_schema=schema if isinstance(schema, dict) else {},
                annotations=annotations if isinstance(annotations, dict) else None,
            )
        )
    return tuple(out)


def _error(raw: Any) -> rt.RemoteToolError | None:
    if not isinstance(raw, dict):
        return None
    code = raw.get("code")
    return rt.RemoteToolError(
        kind=str(raw.get("type") or "tool_execution_error"),
        message=str(raw.get("message") or ""),
        code=code if isinstance(code, int) else None,
    )


class McpEvents:
    """The vendor's MCP listings (session items) and calls (response items)."""

    def __init__(self) -> None:
        self.failed_listings: set[str] = set()
        self.response_of: dict[str, str] = {}  # a call's item id -> the core's response id

    def listing(self, up: Upstream, ev: dict[str, Any]) -> list[n.Event]:
        """``conversation.item.added`` / ``.done`` of an ``mcp_list_tools`` item, and
        ``mcp_list_tools.failed`` (its done then carries no tools)."""
        kind = ev.get("type")
        if kind == "mcp_list_tools.failed":
            self.failed_listings.add(str(ev.get("item_id")))
            return []
        item = ev.get("item") or {}
        if item.get("type") != "mcp_list_tools":
            return []
        item_id = str(item.get("id") or "")
        up.name(item_id, item_id)
        up.mcp_items.add(item_id)
        label = str(item.get("server_label") or "")
        if kind == "conversation.item.added":
            return [rt.RemoteToolsListed(item_id=item_id, server_label=label, stage="in_progress")]
        failed = item_id in self.failed_listings
        self.failed_listings.discard(item_id)
        return [
            rt.RemoteToolsListed(
                item_id=item_id,
                server_label=label,
                stage="failed" if failed else "completed",
                tools=() if failed else _tools(item.get("tools")),
            )
        ]

    def output_item(
        self, up: Upstream, response_id: str, ev: dict[str, Any], done: bool
    ) -> list[n.Event]:
        """``response.output_item.added`` / ``.done`` of an MCP item of ``response_id``."""
        item = ev.get("item") or {}
        kind = item.get("type")
        item_id = str(item.get("id") or "")
        if kind not in ("mcp_call", "mcp_approval_request") or not item_id:
            return []
        up.name(item_id, item_id)
        up.mcp_items.add(item_id)
        label = str(item.get("server_label") or "")
        name = str(item.get("name") or "")
        arguments = str(item.get("arguments") or "")
        if kind == "mcp_approval_request":
            if not done:
                return []
            return [
                rt.RemoteApprovalRequest(
                    response_id=response_id,
                    item_id=item_id,
                    server_label=label,
                    name=name,
                    arguments=arguments,
                )
            ]
        if done:
            self.response_of.pop(item_id, None)
        else:
            self.response_of[item_id] = response_id
        approval = item.get("approval_request_id")
        output = item.get("output")
        return [
            rt.RemoteToolCall(
                response_id=response_id,
                item_id=item_id,
                stage="done" if done else "added",
                server_label=label,
                name=name,
                arguments=arguments,
                output=output if isinstance(output, str) else None,
                error=_error(item.get("error")),
                approval_request_id=approval if isinstance(approval, str) else None,
            )
        ]

    def call_step(self, response_id: str, ev: dict[str, Any]) -> list[n.Event]:
        stage = _CALL_STEPS[str(ev.get("type"))]
        return [
            rt.RemoteToolCall(
                response_id=response_id,
                item_id=str(ev.get("item_id") or ""),
                stage=stage,
                delta=str(ev.get("delta") or ""),
                arguments=str(ev.get("arguments") or ""),
            )
        ]


CALL_EVENTS = frozenset(_CALL_STEPS)
LISTING_EVENTS = frozenset(
    {"conversation.item.added", "conversation.item.done", "mcp_list_tools.failed"}
)
