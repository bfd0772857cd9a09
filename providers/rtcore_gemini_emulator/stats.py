"""What the emulator saw, for tests to check what a client told the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


class SetupReceived(NamedTuple):
    connection: int  # 1-based number of the WebSocket connection
    model: str  # setup.model as sent
    setup: dict[str, Any]  # the setup object as received (keys as the client spelled them)


class Heard(NamedTuple):
    connection: int
    slot: int | None  # the tone slot, or None for speech that is no code
    seconds: float  # voiced seconds


class ToolCallIssued(NamedTuple):
    connection: int
    id: str
    name: str
    args: dict[str, Any]


class ToolResponseReceived(NamedTuple):
    connection: int
    id: str
    name: str
    response: dict[str, Any]


class Closed(NamedTuple):
    connection: int
    code: int
    reason: str


@dataclass
class Stats:
    connections: int = 0  # WebSocket upgrades accepted
    active: int = 0  # of those, still open
    refused: int = 0  # upgrades refused with an HTTP error (a Vertex token not issued here)
    setups: list[SetupReceived] = field(default_factory=list)
    audio_bytes: int = 0  # of realtime audio input, all connections
    heard: list[Heard] = field(default_factory=list)  # every spoken turn taken
    resumptions: int = 0  # connections that resumed a session with a handle
    tool_calls: list[ToolCallIssued] = field(default_factory=list)
    tool_responses: list[ToolResponseReceived] = field(default_factory=list)
    closes: list[Closed] = field(default_factory=list)  # closes the emulator sent
    turns: int = 0  # model turns started
    tokens_issued: int = 0  # access tokens from POST /token

    def close_codes(self) -> list[int]:
        return [closed.code for closed in self.closes]
