"""Where Gemini's next connection starts: resuming the server's session from the latest
resumable handle it gave, or afresh, seeded with the conversation, when the conversation
changed in a way Gemini's context cannot follow (a reply cancelled while it generated, an
item it holds deleted or cut: its context can be neither stopped nor edited). A ``goAway``
says when the current connection ends.
"""

from __future__ import annotations

from typing import Any

from rtcore.kit import ConversationMirror


class Resumption:
    def __init__(self) -> None:
        self.handle: str | None = None
        # Reseeds asked for, and how many of them the latest connection to open took in: a
        # reseed asked while a connection opens is the next connection's to take.
        self._reseeds = 0
        self._taken = 0

    def note(self, message: Any) -> float | None:
        """Take a server message's resumption update; the seconds Gemini gives the
        connection when the message is a ``goAway``, else None."""
        update = message.session_resumption_update
        if update is not None and update.resumable and update.new_handle:
            self.handle = update.new_handle
        away = message.go_away
        return None if away is None else seconds_left(away.time_left)

    def opening(self) -> tuple[str | None, int]:
        """The handle the next connection resumes from (None: a fresh one, seeded with the
        conversation), and the ticket to give ``opened`` once it is open."""
        handle = None if self._reseeds != self._taken else self.handle
        return handle, self._reseeds

    def opened(self, ticket: int, *, fresh: bool) -> None:
        """A connection opened with ``opening``'s ticket. A fresh one leaves the old
        server session behind: its handle must not bring that context back before the
        new session gives a handle of its own."""
        self._taken = ticket
        if fresh:
            self.handle = None

    def reseed(self) -> None:
        """The next connection starts afresh from the conversation."""
        self._reseeds += 1

    def forgets(self, mirror: ConversationMirror, item_id: str, *, changed: bool) -> bool:
        """An item was deleted or cut (``changed``): True when Gemini's context holds it,
        and the next connection must then be seeded afresh."""
        unsent = {i.id for i in mirror.unsent()}
        if changed and item_id in mirror and item_id not in unsent:
            self.reseed()
            return True
        return False


def seconds_left(duration: Any) -> float:
    """A goAway's ``timeLeft`` (the SDK gives a string such as "50s" or a timedelta)."""
    if duration is None:
        return 0.0
    if hasattr(duration, "total_seconds"):
        return float(duration.total_seconds())
    text = str(duration).strip().removesuffix("s")
    try:
        return float(text)
    except ValueError:
        return 0.0
