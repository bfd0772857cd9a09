"""What the emulator saw, for tests to check what a client told the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


class SessionUpdate(NamedTuple):
    connection: int  # 1-based number of the WebSocket connection
    vendor: str
    session: dict[str, Any]  # the session object as received


class Heard(NamedTuple):
    connection: int
    slot: int | None  # the tone slot, or None for speech that is no code
    seconds: float  # voiced seconds


class ToolOutput(NamedTuple):
    connection: int
    call_id: str
    output: str


class Closed(NamedTuple):
    connection: int
    code: int
    reason: str


@dataclass
class Stats:
    connections: int = 0  # WebSocket upgrades accepted
    active: int = 0  # of those, still open
    refused: int = 0  # upgrades refused with an HTTP error (Azure's style)
    session_updates: list[SessionUpdate] = field(default_factory=list)
    audio_bytes: int = 0  # of input audio as sent (before G.711 decoding), all connections
    heard: list[Heard] = field(default_factory=list)  # every user audio turn committed
    responses: int = 0  # responses started
    # The ``response`` of every response.create, as sent.
    response_creates: list[dict[str, Any]] = field(default_factory=list)
    tool_outputs: list[ToolOutput] = field(default_factory=list)
    closes: list[Closed] = field(default_factory=list)  # closes the emulator sent

    def close_codes(self) -> list[int]:
        return [closed.code for closed in self.closes]

    def updates_of(self, connection: int) -> list[dict[str, Any]]:
        return [u.session for u in self.session_updates if u.connection == connection]
