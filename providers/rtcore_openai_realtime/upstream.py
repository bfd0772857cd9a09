"""One upstream connection and what belongs to it alone: the SDK's connection, and the
upstream's names for the conversation's items on it (an item the upstream named itself, a
spoken turn or a reply, has the upstream's id there; an item created here has the core's)."""

from __future__ import annotations

from collections import deque
from typing import Any


class Upstream:
    def __init__(self, manager: Any, connection: Any, number: int, audio_base_ms: float) -> None:
        self.manager = manager
        self.connection = connection
        self.number = number
        # Where this connection's audio clock starts in the session's input audio.
        self.audio_base_ms = audio_base_ms
        self.up_of: dict[str, str] = {}  # core item id -> upstream item id
        self.core_of: dict[str, str] = {}  # upstream item id -> core item id
        # The upstream's ids of the assistant messages of in-band replies, in order, not
        # yet matched to the core's item for them (which comes as an AddItem).
        self.assistant: deque[str] = deque()
        self.call_items: dict[str, str] = {}  # call_id -> upstream item id
        # MCP items the vendor made on this connection (the core knows them by its ids).
        self.mcp_items: set[str] = set()
        # The in-band response the upstream is producing (one at a time).
        self.busy: str | None = None
        self.closing = False

    def name(self, core_id: str, upstream_id: str) -> None:
        self.up_of[core_id] = upstream_id
        self.core_of[upstream_id] = core_id

    def forget(self, core_id: str) -> None:
        if (upstream_id := self.up_of.pop(core_id, None)) is not None:
            self.core_of.pop(upstream_id, None)
