"""A session's MCP tools, as OpenAI's server runs them, for any model (no I/O here).

The model sees the servers' tools as functions. Its call to one is not the client's to
run: it becomes an ``mcp_call`` item of the response (or an ``mcp_approval_request`` the
client answers), the response is held open until the call comes back (rtcore.mcp.runner
runs it), the output goes to the model as the function's, and a new response is asked for
so the reply goes on by itself.
"""

from __future__ import annotations

import json
from typing import cast

import msgspec

from rtcore.ids import new_id
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
from rtcore.mcp.spec import ServerSpec, ToolInfo
from rtcore.protocol import server as s
from rtcore.protocol.errors import RealtimeError
from rtcore.protocol.wire import ItemWire
from rtcore.provider import messages as n
from rtcore.session.conversation import ConvItem, McpError
from rtcore.session.render import render_item
from rtcore.session.responses import ActiveResponse
from rtcore.session.session_view import SessionView

Commands = list[n.Command]

# Why a call stopped, by the reason its response ended (OpenAI's status_details.reason).
_WHY = {
    "client_cancelled": "the client cancelled its response",
    "turn_detected": "the user spoke over its response",
}


class _Server(msgspec.Struct, kw_only=True):
    spec: ServerSpec
    item: ConvItem
    tools: dict[str, ToolInfo] = msgspec.field(default_factory=dict)


class McpBridge:
    def __init__(self, session: SessionView) -> None:
        self._session = session
        self._servers: dict[str, _Server] = {}
        self._jobs: list[Job] = []
        # Calls running: the mcp_call item and the response holding it, by item id.
        self._calls: dict[str, tuple[str, ConvItem]] = {}
        # Approval requests the client has not answered, by item id.
        self._approvals: dict[str, ConvItem] = {}
        # Responses the provider finished whose calls still run: their done, by id.
        self._held: dict[str, n.ResponseDone] = {}
        # A call came back (or was refused): the model answers once nothing runs.
        self._continue = False
        self._pending: Commands = []

    def take_pending(self) -> Commands:
        pending, self._pending = self._pending, []
        return pending

    def take_jobs(self) -> list[Job]:
        jobs, self._jobs = self._jobs, []
        return jobs

    @property
    def busy(self) -> bool:
        return bool(self._calls)

    # -- servers ---------------------------------------------------------------------------

    def configure(self, specs: tuple[ServerSpec, ...]) -> None:
        """The session's servers are now ``specs``: new or changed ones are connected and
        listed (an ``mcp_list_tools`` item each), those gone are disconnected."""
        wanted = {spec.label: spec for spec in specs}
        for label in list(self._servers):
            if label not in wanted:
                del self._servers[label]
                self._jobs.append(Disconnect(label=label))
        for label, spec in wanted.items():
            known = self._servers.get(label)
            if known is not None and known.spec == spec:
                continue
            item = ConvItem(
                id=new_id("item_"), type="mcp_list_tools", status="in_progress", server_label=label
            )
            self._servers[label] = _Server(spec=spec, item=item)
            session = self._session
            previous = session.conversation.append(item)
            rendered = render_item(item, session.vocabulary.dialect)
            session.emit(
                s.ConversationItemAdded(event_id="", previous_item_id=previous, item=rendered)
            )
            session.emit(s.McpListToolsInProgress(event_id="", item_id=item.id))
            self._jobs.append(ListTools(spec=spec))
        self._offer()

    def _offer(self) -> None:
        """The functions the model is offered: each ready server's tools, but not a name a
        client function or an earlier server already has."""
        state = self._session.settings
        taken = {t.name for t in state.tools}
        offered: list[n.ToolDef] = []
        for server in self._servers.values():
            for tool in server.tools.values():
                if tool.name in taken:
                    continue
                taken.add(tool.name)
                offered.append(
                    n.ToolDef(
                        name=tool.name,
                        description=tool.description,
                        parameters=tool.input_schema or {"type": "object", "properties": {}},
                    )
                )
        if tuple(offered) != state.mcp_functions:
            self._session.settings = msgspec.structs.replace(state, mcp_functions=tuple(offered))

    def _owner(self, name: str) -> _Server | None:
        if name in {t.name for t in self._session.settings.tools}:
            return None  # the client's own function
        return next((sv for sv in self._servers.values() if name in sv.tools), None)

    # -- results from the runner -----------------------------------------------------------

    def result(self, result: Result) -> Commands:
        if isinstance(result, Listed):
            self._listed(result)
            return []
        return self._called(result)

    def _listed(self, listed: Listed) -> None:
        server = self._servers.get(listed.spec.label)
        if server is None or server.spec != listed.spec:
            return  # replaced or removed meanwhile
        session = self._session
        item = server.item
        if listed.failure is not None:
            item.status = "failed"
            session.emit(s.McpListToolsFailed(event_id="", item_id=item.id))
            failure = listed.failure
            session.error(
                RealtimeError(
                    "mcp_list_tools_failed",
                    f"Listing the tools of MCP server '{listed.spec.label}' failed "
                    f"({failure.kind}"
                    + (f" {failure.code}" if failure.code is not None else "")
                    + f"): {failure.message}",
                    param="session.tools",
                    type="server_error",
                )
            )
        else:
            offered = [t for t in listed.tools or [] if listed.spec.offers(t)]
            server.tools = {t.name: t for t in offered}
            item.tools = tuple(offered)
            item.status = "completed"
            session.conversation.measure(item.id)
            session.emit(s.McpListToolsCompleted(event_id="", item_id=item.id))
        listing_done(session, item)
        self._offer()

    # -- the model's calls -----------------------------------------------------------------

    def tool_call(self, response: ActiveResponse, call: n.ToolCall) -> bool:
        """The model called a function: True when it is an MCP tool (then run here)."""
        server = self._owner(call.name)
        if server is None or response.conversation is None:
            # (An out-of-band response's output joins no conversation: nothing could carry
            # a call's output back to the model, so such a call is the client's to run.)
            return False
        tool = server.tools[call.name]
        label = server.spec.label
        if server.spec.approval.required(tool):
            request = ConvItem(
                id=new_id("item_"),
                type="mcp_approval_request",
                server_label=label,
                name=call.name,
                arguments=call.arguments,
                call_id=call.call_id,
            )
            response.open_item(request)
            response.close_item(request, "completed")
            self._approvals[request.id] = request
            return True
        self._run(response, label, call.name, call.arguments, call.call_id, None)
        return True

    def _run(
        self,
        response: ActiveResponse,
        label: str,
        name: str,
        arguments: str,
        call_id: str,
        approval_request_id: str | None,
    ) -> None:
        item = ConvItem(
            id=new_id("item_"),
            type="mcp_call",
            status="in_progress",
            server_label=label,
            name=name,
            arguments="",
            call_id=call_id,
            approval_request_id=approval_request_id,
        )
        index = response.open_item(item)
        item.arguments = arguments
        emit = self._session.emit
        ids = {"response_id": response.id, "item_id": item.id, "output_index": index}
        emit(s.McpCallArgumentsDelta(event_id="", delta=arguments, **ids))  # type: ignore[arg-type]
        emit(s.McpCallArgumentsDone(event_id="", arguments=arguments, **ids))  # type: ignore[arg-type]
        emit(s.McpCallInProgress(event_id="", item_id=item.id, output_index=index))
        self._calls[item.id] = (response.id, item)
        try:
            parsed = json.loads(arguments or "{}")
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            bad = McpFailure("tool_execution_error", "The call's arguments are not a JSON object.")
            self._pending += self._called(Called(item_id=item.id, failure=bad))
            return
        self._jobs.append(CallTool(item_id=item.id, label=label, name=name, arguments=parsed))

    def holds(self, response: ActiveResponse, done: n.ResponseDone) -> bool:
        """The provider finished ``response``: True when its calls still run (it stays open
        until they come back)."""
        if done.status != "completed":
            return False
        if any(rid == response.id for rid, _ in self._calls.values()):
            self._held[response.id] = done
            return True
        return False

    def held(self, response_id: str) -> bool:
        """Whether ``response_id`` is open only for its calls (its provider is done with
        it, or never had it)."""
        return response_id in self._held

    def held_done(self) -> list[tuple[str, n.ResponseDone]]:
        return list(self._held.items())

    def abandon(self, response: ActiveResponse, done: n.ResponseDone) -> None:
        """``response`` ends (``done``) with calls still running: each is stopped and its
        item fails (``response.mcp_call.failed``), before the response's done. The model
        is told of each as a failed call; nothing answers it by itself."""
        self._held.pop(response.id, None)
        stopped = [(i, item) for i, (rid, item) in self._calls.items() if rid == response.id]
        why = _WHY.get(done.reason or "", f"its response ended ({done.status})")
        for item_id, item in stopped:
            del self._calls[item_id]
            self._jobs.append(CancelCall(item_id=item_id))
            item.error = McpError(
                type="tool_execution_error", message=f"The call was cancelled: {why}."
            )
            index = response.items.index(item)
            self._session.emit(s.McpCallFailed(event_id="", item_id=item.id, output_index=index))
            response.close_item(item, "failed")
            self._session.conversation.measure(item.id)

    def _called(self, called: Called) -> Commands:
        entry = self._calls.pop(called.item_id, None)
        if entry is None:
            return []
        response_id, item = entry
        session = self._session
        response = session.responses.get(response_id)
        if response is None:
            return []  # (never: a response that ends stops its calls first, in abandon)
        if called.failure is not None:
            f = called.failure
            item.error = McpError(type=f.kind, message=f.message, code=f.code)
            status = "failed"
        else:
            item.output = called.output
            status = "completed"
        index = response.items.index(item)
        event = s.McpCallFailed if status == "failed" else s.McpCallCompleted
        session.emit(event(event_id="", item_id=item.id, output_index=index))
        response.close_item(item, status)
        session.conversation.measure(item.id)
        self._continue = True
        done = self._held.get(response_id)
        if done is not None and not any(rid == response_id for rid, _ in self._calls.values()):
            del self._held[response_id]
            session.finish_response(response, done)
        return self.continuation()

    def continuation(self) -> Commands:
        """Once the calls of a reply are back and nothing else is answering, the model
        answers with their outputs: a response of the core's own asking."""
        session = self._session
        if not self._continue or self._calls or session.response is not None:
            return []
        self._continue = False
        response = session.open_response(new_id("resp_"))
        return [n.CreateResponse(response_id=response.id)]

    # -- the client's approvals ------------------------------------------------------------

    def approval(self, wire: ItemWire, previous_item_id: str | None) -> Commands:
        """An ``mcp_approval_response`` item: the call it approves runs in a response of
        its own; one refused is told to the model, which answers."""
        session = self._session
        for name, kind in (("approval_request_id", str), ("approve", bool)):
            if not isinstance(getattr(wire, name), kind):
                raise RealtimeError(
                    "missing_required_parameter",
                    f"Missing required parameter: 'item.{name}'.",
                    param=f"item.{name}",
                )
        approve = cast(bool, wire.approve)
        request = self._approvals.get(cast(str, wire.approval_request_id))
        if request is None:
            raise RealtimeError(
                "invalid_value",
                f"No mcp_approval_request '{wire.approval_request_id}' is waiting for an answer.",
                param="item.approval_request_id",
            )
        if approve and session.response is not None:
            raise RealtimeError(
                "conversation_already_has_active_response",
                "Conversation already has an active response in progress: "
                f"{session.response.id}. Approve the call once it is done.",
            )
        del self._approvals[request.id]
        item = ConvItem(
            id=wire.id if isinstance(wire.id, str) else new_id("item_"),
            type="mcp_approval_response",
            approval_request_id=request.id,
            approve=approve,
            reason=wire.reason if isinstance(wire.reason, str) else None,
            call_id=request.call_id,
            name=request.name,
        )
        if previous_item_id is None:
            previous = session.conversation.append(item)
        else:
            previous = session.conversation.insert(item, previous_item_id)
        session.announce_item(item, previous)
        after = session.conversation.model_previous(previous)
        commands: Commands = [n.AddItem(item=i, previous_item_id=after) for i in item.for_model()]
        if not approve:
            self._continue = True
            return commands + self.continuation()
        response = session.open_response(new_id("resp_"))
        self._run(
            response,
            request.server_label or "",
            request.name or "",
            request.arguments or "{}",
            request.call_id or "",
            request.id,
        )
        # The response is the gateway's alone: nothing of the provider's is to come.
        self._held[response.id] = n.ResponseDone(response_id=response.id)
        return commands


def listing_done(session: SessionView, item: ConvItem) -> None:
    """An ``mcp_list_tools`` item that completed or failed is done: said to the client,
    unless the item has left the conversation meanwhile."""
    if item.id in session.conversation:
        session.emit(
            s.ConversationItemDone(
                event_id="",
                previous_item_id=session.conversation.previous_of(item.id),
                item=render_item(item, session.vocabulary.dialect),
            )
        )
