"""Session resumption: the state a handle restores, kept for two hours after the session's
connection ends (reference §4.5, §7)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

HANDLE_LIFETIME = 2 * 3600.0


@dataclass
class Lineage:
    """One session across all its resumptions: when it began, and whether it has ended
    (outlived session_lifetime: its handles no longer resume it)."""

    started: float = field(default_factory=time.monotonic)
    ended: bool = False


@dataclass
class SessionState:
    """What outlives a connection: the conversation and the session it belongs to."""

    model_id: str
    lineage: Lineage = field(default_factory=Lineage)
    # Contents in order, as the model keeps them: {"role", "parts"}.
    history: list[dict[str, Any]] = field(default_factory=list)
    # Seconds of user audio the history holds (billed again, as audio, every turn).
    audio_seconds: float = 0.0


@dataclass
class _Saved:
    state: SessionState
    history: list[dict[str, Any]]
    audio_seconds: float
    expires: float | None = None  # set when the connection that issued it ends


class HandleStore:
    def __init__(self, lifetime: float = HANDLE_LIFETIME) -> None:
        self.lifetime = lifetime
        self._saved: dict[str, _Saved] = {}

    def save(self, state: SessionState) -> str:
        handle = secrets.token_urlsafe(24)
        self._saved[handle] = _Saved(state, list(state.history), state.audio_seconds)
        return handle

    def connection_ended(self, state: SessionState) -> None:
        now = time.monotonic()
        for handle, saved in list(self._saved.items()):
            if saved.expires is not None and saved.expires <= now:
                del self._saved[handle]
            elif saved.state is state and saved.expires is None:
                saved.expires = now + self.lifetime

    def resume(self, handle: str) -> SessionState | None:
        """A new state continuing the saved one (same start, history as of the handle), or
        None for a handle never issued, expired, or of a session that has ended."""
        saved = self._saved.get(handle)
        if saved is None or saved.state.lineage.ended:
            return None
        if saved.expires is not None and saved.expires <= time.monotonic():
            return None
        old = saved.state
        return SessionState(
            old.model_id,
            old.lineage,
            history=list(saved.history),
            audio_seconds=saved.audio_seconds,
        )


def session_id() -> str:
    return secrets.token_hex(8)
