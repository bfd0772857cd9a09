"""What the model answers a context: a scripted or echoed reply, a function call by the shared
tool rule, or the spoken result of a function's output."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rtcore_emulated_speech.script import Script, default_reply
from rtcore_emulated_speech.tooluse import arguments, match_tool

from .items import Entry, function_name, said_of

# The question that shows the model keeps its context (continuation replays it).
MEMORY_QUESTION = "what did i say before?"
NOTHING_SAID = "How can I help you?"


@dataclass(frozen=True, slots=True)
class FunctionTool:
    name: str
    description: str
    schema: dict[str, Any]
    server_label: str | None = None  # a tool of this MCP server (mcp_tools.py)


@dataclass(frozen=True, slots=True)
class Reply:
    text: str = ""
    call: FunctionTool | None = None
    call_arguments: dict[str, Any] | None = None
    approval_request_id: str | None = None  # the approved MCP call this runs


def functions_of(tools: list[dict[str, Any]]) -> list[FunctionTool]:
    out = []
    for tool in tools:
        if tool.get("type", "function") != "function":
            continue
        parameters = tool.get("parameters")
        out.append(
            FunctionTool(
                str(tool.get("name")),
                str(tool.get("description") or ""),
                parameters if isinstance(parameters, dict) else {},
            )
        )
    return out


def decide(
    context: list[Entry],
    script: Script,
    tools: list[dict[str, Any]],
    tool_choice: Any,
    mcp: list[FunctionTool] = [],  # noqa: B006 - never changed
) -> Reply:
    last = context[-1] if context else None
    if last is not None and str(last.item.get("type")).startswith("mcp_"):
        return _after_mcp(context, last.item, script, mcp)
    if last is not None and last.item.get("type") == "function_call_output":
        name = function_name(context, str(last.item.get("call_id")), last.item.get("name"))
        return Reply(script.after_tool(name, _output_text(str(last.item.get("output", "")))))
    said = ""
    earlier: list[str] = []
    users = [e for e in context if e.item.get("type") == "message" and e.item["role"] == "user"]
    if users:
        said = users[-1].meta.said or said_of(users[-1].item)
        earlier = [e.meta.said or said_of(e.item) for e in users[:-1]]
    scripted = script.scripted_reply(said) if said else None
    if scripted is not None:
        return Reply(scripted)
    if " ".join(said.lower().split()) == MEMORY_QUESTION:
        if earlier:
            return Reply(f"Before, you said: {earlier[-1]}")
        return Reply("You have not said anything before.")
    functions = functions_of(tools) + mcp
    chosen = _choose(functions, said, tool_choice)
    if chosen is not None:
        return Reply(call=chosen, call_arguments=arguments(chosen, said))
    return Reply(default_reply(said) if said else NOTHING_SAID)


def _after_mcp(
    context: list[Entry], item: dict[str, Any], script: Script, mcp: list[FunctionTool]
) -> Reply:
    """After an MCP call, the model speaks of its output; after the client's answer to an
    approval request, the call runs (approved) or the model says it did not."""
    name = str(item.get("name") or "")
    if item.get("type") == "mcp_call":
        said = item.get("output") or (item.get("error") or {}).get("message") or ""
        return Reply(script.after_tool(name, _output_text(str(said))))
    if item.get("type") != "mcp_approval_response":
        return Reply(NOTHING_SAID)
    request = next(
        (e.item for e in context if e.item.get("id") == item.get("approval_request_id")), {}
    )
    name = str(request.get("name") or "")
    if not item.get("approve"):
        return Reply(f"I did not run {name}: you declined it.")
    tool = next((t for t in mcp if t.name == name), None)
    if tool is None:
        return Reply(NOTHING_SAID)
    try:
        args = json.loads(str(request.get("arguments") or "{}"))
    except ValueError:
        args = {}
    return Reply(call=tool, call_arguments=args, approval_request_id=str(request["id"]))


def _choose(functions: list[FunctionTool], said: str, tool_choice: Any) -> FunctionTool | None:
    if not functions or tool_choice == "none":
        return None
    if isinstance(tool_choice, dict):
        if tool_choice.get("type") != "function":
            return None
        return next((f for f in functions if f.name == tool_choice.get("name")), None)
    matched = match_tool(functions, said) if said else None
    if matched is None and tool_choice == "required":
        return functions[0]
    return matched


def _output_text(output: str) -> str:
    """A function's output as the model reads it: the string of a one-key ``{"output": s}`` /
    ``{"result": s}`` JSON object, else the output as sent."""
    try:
        value = json.loads(output)
    except ValueError:
        return output
    if isinstance(value, dict) and len(value) == 1:
        ((key, inner),) = value.items()
        if key in ("output", "result") and isinstance(inner, str):
            return inner
    return output
