"""Server event ids (the id scheme itself is ``rtcore.ids``)."""

from __future__ import annotations

from rtcore.ids import new_id


class EventIds:
    """Server event ids only need to be unique within a connection, and one is made per
    event on the audio path, so a counter after a random prefix is enough and cheap."""

    def __init__(self) -> None:
        self._prefix = new_id("event_", 10) + "_"
        self._n = 0

    def next(self) -> str:
        self._n += 1
        return f"{self._prefix}{self._n}"
