"""A session's MCP tools when the vendor runs them (``Capabilities.remote_mcp``): its
listings and calls, reported by the provider step by step, become the same items and
events as those the gateway runs (rtcore.session.mcp_bridge), in the order they come; the
client's answer to an approval request goes to the vendor. No I/O here."""

from __future__ import annotations

from typing import cast

from rtcore.ids import new_id
from rtcore.mcp.spec import ToolInfo
from rtcore.protocol import server as s
from rtcore.protocol.errors import RealtimeError
from rtcore.protocol.wire import ItemWire
from rtcore.provider import messages as n
from rtcore.provider import remote_tools as rt
from rtcore.session.conversation import ConvItem, McpError
from rtcore.session.mcp_bridge import listing_done
from rtcore.session.render import render_item
from rtcore.session.responses import ActiveResponse
from rtcore.session.session_view import SessionView

Commands = list[n.Command]
_KINDS = ("http_error", "protocol_error", "tool_execution_error")


class RemoteMcp:
    def __init__(self, session: SessionView) -> None:
        self._session = session
        self._listings: dict[str, ConvItem] = {}
        # The vendor's calls under way (item id: its response and item).
        self._calls: dict[str, tuple[ActiveResponse, ConvItem]] = {}
        # Approval requests the client has not answered, by item id.
        self._approvals: dict[str, ConvItem] = {}

    def forget(self) -> None:
        """The vendor that ran them is gone (a failover): what it was asked is moot."""
        self._listings.clear()
        self._calls.clear()
        self._approvals.clear()

    def on_event(
        self,
        event: rt.RemoteToolsListed | rt.RemoteToolCall | rt.RemoteApprovalRequest,
    ) -> None:
        match event:
            case rt.RemoteToolsListed():
                self._listed(event)
            case rt.RemoteToolCall():
                self._call(event)
            case rt.RemoteApprovalRequest():
                self._approval_request(event)

    # -- listings ----------------------------------------------------------------------------

    def _listed(self, event: rt.RemoteToolsListed) -> None:
        session = self._session
        item = self._listings.get(event.item_id)
        if item is None:
            item = ConvItem(
                id=event.item_id,
                type="mcp_list_tools",
                status="in_progress",
                server_label=event.server_label,
                remote=True,
            )
            self._listings[item.id] = item
            previous = session.conversation.append(item)
            rendered = render_item(item, session.vocabulary.dialect)
            session.emit(
                s.ConversationItemAdded(event_id="", previous_item_id=previous, item=rendered)
            )
            session.emit(s.McpListToolsInProgress(event_id="", item_id=item.id))
        if event.stage == "in_progress":
            return
        del self._listings[item.id]
        if event.stage == "failed":
            item.status = "failed"
            session.emit(s.McpListToolsFailed(event_id="", item_id=item.id))
        else:
            item.tools = tuple(
                ToolInfo(
                    name=t.name,
                    description=t.description,
                    input_schema=t.input_schema,
                    annotations=t.annotations,
                )
                for t in event.tools
            )
            item.status = "completed"
            session.conversation.measure(item.id)
            session.emit(s.McpListToolsCompleted(event_id="", item_id=item.id))
        listing_done(session, item)

    # -- calls -------------------------------------------------------------------------------

    def _call(self, event: rt.RemoteToolCall) -> None:
        if event.stage == "added":
            response = self._session.responses.get(event.response_id)
            if response is None:
                return  # a response the core closed: its output is dropped
            item = ConvItem(
                id=event.item_id,
                type="mcp_call",
                status="in_progress",
                server_label=event.server_label,
                name=event.name,
                arguments="",
                # The model's call, to a model that is told of it as a function's (history
                # for another upstream): an approved call answers its request's.
                call_id=event.approval_request_id or event.item_id,
                approval_request_id=event.approval_request_id,
                remote=True,
            )
            response.open_item(item)
            self._calls[item.id] = (response, item)
            return
        entry = self._calls.get(event.item_id)
        if entry is None or entry[0].id not in self._session.responses:
            self._calls.pop(event.item_id, None)
            return
        response, item = entry
        index = response.items.index(item)
        ids = {"response_id": response.id, "item_id": item.id, "output_index": index}
        emit = self._session.emit
        match event.stage:
            case "arguments_delta":
                item.arguments = (item.arguments or "") + event.delta
                emit(s.McpCallArgumentsDelta(event_id="", delta=event.delta, **ids))  # type: ignore[arg-type]
            case "arguments_done":
                item.arguments = event.arguments
                emit(s.McpCallArgumentsDone(event_id="", arguments=event.arguments, **ids))  # type: ignore[arg-type]
            case "in_progress":
                emit(s.McpCallInProgress(event_id="", item_id=item.id, output_index=index))
            case "completed":
                emit(s.McpCallCompleted(event_id="", item_id=item.id, output_index=index))
            case "failed":
                emit(s.McpCallFailed(event_id="", item_id=item.id, output_index=index))
            case "done":
                del self._calls[item.id]
                if event.arguments:
                    item.arguments = event.arguments
                item.output = event.output
                if (e := event.error) is not None:
                    kind = e.kind if e.kind in _KINDS else "tool_execution_error"
                    item.error = McpError(type=kind, message=e.message, code=e.code)  # type: ignore[arg-type]
                response.close_item(item, "failed" if event.error is not None else "completed")
                self._session.conversation.measure(item.id)

    def abandon(self, response: ActiveResponse, done: n.ResponseDone) -> None:
        """``response`` ends (``done``) with vendor calls the vendor did not finish: each
        fails (``response.mcp_call.failed``), before the response's done."""
        for item_id, (owner, item) in list(self._calls.items()):
            if owner is not response:
                continue
            del self._calls[item_id]
            item.error = McpError(
                type="tool_execution_error",
                message=f"The call was cancelled: its response ended ({done.status}).",
            )
            index = response.items.index(item)
            self._session.emit(s.McpCallFailed(event_id="", item_id=item.id, output_index=index))
            response.close_item(item, "failed")

    def _approval_request(self, event: rt.RemoteApprovalRequest) -> None:
        response = self._session.responses.get(event.response_id)
        if response is None:
            return
        request = ConvItem(
            id=event.item_id,
            type="mcp_approval_request",
            server_label=event.server_label,
            name=event.name,
            arguments=event.arguments,
            call_id=event.item_id,
            remote=True,
        )
        response.open_item(request)
        response.close_item(request, "completed")
        self._approvals[request.id] = request

    # -- the client's approvals --------------------------------------------------------------

    def approval(self, wire: ItemWire, previous_item_id: str | None) -> Commands:
        """An ``mcp_approval_response`` item: announced, and given to the vendor, which
        runs the call or not (and answers)."""
        session = self._session
        for name, kind in (("approval_request_id", str), ("approve", bool)):
            if not isinstance(getattr(wire, name), kind):
                raise RealtimeError(
                    "missing_required_parameter",
                    f"Missing required parameter: 'item.{name}'.",
                    param=f"item.{name}",
                )
        request = self._approvals.pop(cast(str, wire.approval_request_id), None)
        if request is None:
            raise RealtimeError(
                "invalid_value",
                f"No mcp_approval_request '{wire.approval_request_id}' is waiting for an answer.",
                param="item.approval_request_id",
            )
        item = ConvItem(
            id=wire.id if isinstance(wire.id, str) else new_id("item_"),
            type="mcp_approval_response",
            approval_request_id=request.id,
            approve=cast(bool, wire.approve),
            reason=wire.reason if isinstance(wire.reason, str) else None,
            call_id=request.call_id,
            name=request.name,
            remote=True,
        )
        if previous_item_id is None:
            previous = session.conversation.append(item)
        else:
            previous = session.conversation.insert(item, previous_item_id)
        session.announce_item(item, previous)
        return [
            rt.AnswerApproval(
                item_id=item.id,
                approval_request_id=request.id,
                approve=bool(item.approve),
                reason=item.reason,
                previous_item_id=previous,
            )
        ]
