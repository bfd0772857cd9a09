"""What the emulator saw, for tests to check what a client told the model."""

from __future__ import annotations

import hashlib
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
class AudioDigest:
    """Audio bytes exactly as they crossed the socket, counted and hashed (not kept): a
    test compares them with what its client sent or heard."""

    size: int = 0
    _hash: Any = field(default_factory=hashlib.sha256, repr=False)

    def add(self, data: bytes) -> None:
        self.size += len(data)
        self._hash.update(data)

    @property
    def sha256(self) -> str:
        return str(self._hash.hexdigest())


@dataclass
class Stats:
    connections: int = 0  # WebSocket upgrades accepted
    active: int = 0  # of those, still open
    refused: int = 0  # upgrades refused with an HTTP error (Azure's style)
    session_updates: list[SessionUpdate] = field(default_factory=list)
    # Input audio as sent (before G.711 decoding) and output audio as written (G.711 for a
    # session in audio/pcmu or audio/pcma), all connections.
    audio_in: AudioDigest = field(default_factory=AudioDigest)
    audio_out: AudioDigest = field(default_factory=AudioDigest)
    heard: list[Heard] = field(default_factory=list)  # every user audio turn committed
    responses: int = 0  # responses started
    # The ``response`` of every response.create, as sent.
    response_creates: list[dict[str, Any]] = field(default_factory=list)
    tool_outputs: list[ToolOutput] = field(default_factory=list)
    closes: list[Closed] = field(default_factory=list)  # closes the emulator sent

    @property
    def audio_bytes(self) -> int:
        return self.audio_in.size

    def close_codes(self) -> list[int]:
        return [closed.code for closed in self.closes]

    def updates_of(self, connection: int) -> list[dict[str, Any]]:
        return [u.session for u in self.session_updates if u.connection == connection]
