"""What the session's helpers that speak for it (the MCP bridges: mcp_bridge.py,
remote_mcp.py) may use of ``RealtimeSession``: typed here, so that they need not import the
machine that holds them."""

from __future__ import annotations

from typing import Protocol

from rtcore.protocol import server as s
from rtcore.protocol.errors import RealtimeError
from rtcore.provider import messages as n
from rtcore.session.conversation import Conversation, ConvItem
from rtcore.session.dialect_events import Vocabulary
from rtcore.session.responses import ActiveResponse
from rtcore.session.settings import SessionState


class SessionView(Protocol):
    settings: SessionState
    conversation: Conversation
    responses: dict[str, ActiveResponse]

    @property
    def vocabulary(self) -> Vocabulary: ...

    @property
    def response(self) -> ActiveResponse | None:
        """The open response that belongs to the conversation (at most one)."""
        ...

    def emit(self, event: s.ServerEvent) -> None: ...

    def error(self, err: RealtimeError) -> None: ...

    def announce_item(self, item: ConvItem, previous: str | None) -> None: ...

    def open_response(self, response_id: str) -> ActiveResponse:
        """A response of the core's own asking, with the session's settings."""
        ...

    def finish_response(self, r: ActiveResponse, event: n.ResponseDone) -> None: ...
