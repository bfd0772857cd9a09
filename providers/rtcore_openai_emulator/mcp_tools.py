"""The session's ``mcp`` tools, run as OpenAI runs them: the server is reached at
``server_url`` with the given ``headers`` (the official ``mcp`` SDK; a path ending in
``/sse`` over SSE, any other over streamable HTTP), its tools listed (``allowed_tools``
filters them) once per server after ``session.updated``, and a call the model makes runs
here: ``mcp_call`` items, or an ``mcp_approval_request`` the client answers
(``require_approval``). Shapes: the openai SDK's ``openai/types/realtime/*mcp*``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from .ids import new_id
from .items import Entry, Meta, arguments_json
from .outbox import Outbox
from .reply import FunctionTool


def _matches(rule: Any, tool: dict[str, Any]) -> bool:
    """OpenAI's tool filter: a list of names, or ``{tool_names, read_only}``."""
    if isinstance(rule, list):
        return tool["name"] in rule
    if not isinstance(rule, dict):
        return False
    names = rule.get("tool_names")
    if names is not None and tool["name"] not in names:
        return False
    read_only = rule.get("read_only")
    hint = bool((tool.get("annotations") or {}).get("readOnlyHint"))
    return read_only is None or hint == read_only


def needs_approval(config: dict[str, Any], tool: dict[str, Any]) -> bool:
    rule = config.get("require_approval", "always")
    if isinstance(rule, str):
        return rule != "never"
    never = rule.get("never") if isinstance(rule, dict) else None
    return not (never is not None and _matches(never, tool))


@contextlib.asynccontextmanager
async def _session(config: dict[str, Any]) -> AsyncIterator[Any]:
    from mcp import ClientSession
    from mcp.client.sse import sse_client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    url = str(config["server_url"])
    headers = dict(config.get("headers") or {})
    if config.get("authorization"):
        headers["Authorization"] = f"Bearer {config['authorization']}"
    async with contextlib.AsyncExitStack() as stack:
        if url.split("?", 1)[0].rstrip("/").endswith("/sse"):
            read, write = await stack.enter_async_context(sse_client(url, headers=headers))
        else:
            http = await stack.enter_async_context(create_mcp_http_client(headers=headers))
            read, write, *_ = await stack.enter_async_context(
                streamable_http_client(url, http_client=http)
            )
        session = await stack.enter_async_context(ClientSession(read, write))
        await session.initialize()
        yield session


class McpServers:
    """One session's servers, by label: the config each was listed with, and its tools."""

    def __init__(self, out: Outbox, add_item: Any) -> None:
        self.out = out
        self.add_item = add_item  # puts an item in the conversation; the previous id
        self.servers: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        self.requests: dict[str, dict[str, Any]] = {}  # approval requests not answered

    async def configure(self, tools: list[dict[str, Any]]) -> None:
        """After ``session.updated``: each new or changed server is listed."""
        wanted = {str(t.get("server_label")): t for t in tools if t.get("type") == "mcp"}
        for label in list(self.servers):
            if label not in wanted:
                del self.servers[label]
        for label, config in wanted.items():
            if label in self.servers and self.servers[label][0] == config:
                continue
            await self._list(label, config)

    async def _list(self, label: str, config: dict[str, Any]) -> None:
        item: dict[str, Any] = {
            "id": new_id("mcpl_"),
            "type": "mcp_list_tools",
            "server_label": label,
            "tools": [],
        }
        previous = self.add_item(Entry(item, Meta(said="")))
        await self.out.send("conversation.item.added", previous_item_id=previous, item=dict(item))
        await self.out.send("mcp_list_tools.in_progress", item_id=item["id"])
        try:
            async with _session(config) as session:
                listed = await session.list_tools()
        except Exception:  # the server's trouble is the session's failed listing
            self.servers[label] = (config, [])
            await self.out.send("mcp_list_tools.failed", item_id=item["id"])
            await self.out.send("conversation.item.done", item=dict(item, tools=[]))
            return
        tools = [
            {
                "name": t.name,
                "description": t.description or "",
                "input_schema": dict(t.input_schema),
                "annotations": None
                if t.annotations is None
                else t.annotations.model_dump(by_alias=True, exclude_none=True),
            }
            for t in listed.tools
        ]
        allowed = config.get("allowed_tools")
        tools = [t for t in tools if allowed is None or _matches(allowed, t)]
        item["tools"] = tools
        self.servers[label] = (config, tools)
        await self.out.send("mcp_list_tools.completed", item_id=item["id"])
        await self.out.send("conversation.item.done", item=dict(item))

    def offered(self) -> list[FunctionTool]:
        """The servers' tools, as the model is offered them."""
        return [
            FunctionTool(t["name"], t["description"], t["input_schema"], label)
            for label, (_, tools) in self.servers.items()
            for t in tools
        ]

    async def speak(self, plan: Any, speaker: Any) -> None:
        """The model's call: an approval request, or the call run, in OpenAI's order."""
        reply = plan.reply
        label = str(reply.call.server_label)
        config, tools = self.servers.get(label, ({}, []))
        tool = next((t for t in tools if t["name"] == reply.call.name), {"name": ""})
        args = arguments_json(reply.call_arguments or {})
        common = {"server_label": label, "name": reply.call.name}
        if reply.approval_request_id is None and needs_approval(config, tool):
            request = {"id": new_id("mcpr_"), "type": "mcp_approval_request", **common}
            request["arguments"] = args
            entry = await speaker._item_added(plan, request, 0)
            entry.meta.said = f"{reply.call.name}({args})"
            self.requests[request["id"]] = request
            await speaker._item_done(plan, entry, 0)
            return
        item: dict[str, Any] = {"id": new_id("mcp_"), "type": "mcp_call", **common}
        item["arguments"] = ""
        if reply.approval_request_id is not None:
            item["approval_request_id"] = reply.approval_request_id
        entry = await speaker._item_added(plan, item, 0)
        ids = {"item_id": item["id"], "output_index": 0}
        send = self.out.send
        await send("response.mcp_call_arguments.delta", response_id=plan.id, **ids, delta=args)
        await send("response.mcp_call_arguments.done", response_id=plan.id, **ids, arguments=args)
        await send("response.mcp_call.in_progress", **ids)
        item["arguments"] = args
        await self._run_or_cancel(plan, config, reply.call.name, reply.call_arguments or {}, item)
        failed = "error" in item
        await send("response.mcp_call.failed" if failed else "response.mcp_call.completed", **ids)
        entry.meta.said = str(item.get("output") or "")
        await speaker._item_done(plan, entry, 0)

    async def _run_or_cancel(
        self,
        plan: Any,
        config: dict[str, Any],
        name: str,
        arguments: dict[str, Any],
        item: dict[str, Any],
    ) -> None:
        """The call, unless the response is cancelled first (the call is then stopped, and
        fails)."""
        call = asyncio.create_task(self._run(config, name, arguments, item))
        cancelled = asyncio.create_task(plan.cancel.wait())
        await asyncio.wait({call, cancelled}, return_when=asyncio.FIRST_COMPLETED)
        cancelled.cancel()
        if call.done():
            return
        call.cancel()
        await asyncio.gather(call, return_exceptions=True)
        item.pop("output", None)
        item["error"] = {"type": "tool_execution_error", "message": "The call was cancelled."}
        plan.status = "cancelled"
        plan.status_details = {"type": "cancelled", "reason": plan.cancel_reason}

    async def _run(
        self, config: dict[str, Any], name: str, arguments: dict[str, Any], item: dict[str, Any]
    ) -> None:
        try:
            async with _session(config) as session:
                result = await session.call_tool(name, arguments)
        except Exception as exc:
            item["error"] = {"type": "http_error", "code": 503, "message": str(exc)}
            return
        text = "".join(getattr(part, "text", "") for part in result.content)
        if result.is_error:
            item["error"] = {"type": "tool_execution_error", "message": text}
        else:
            item["output"] = text

    def answered(self, item: dict[str, Any]) -> dict[str, Any] | None:
        """The client's ``mcp_approval_response``: the request it answers."""
        return self.requests.pop(str(item.get("approval_request_id")), None)
