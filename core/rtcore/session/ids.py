"""OpenAI-style ids: a prefix and random base62."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 20) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


class EventIds:
    """Server event ids only need to be unique within a connection, and one is made per
    event on the audio path, so a counter after a random prefix is enough and cheap."""

    def __init__(self) -> None:
        self._prefix = new_id("event_", 10) + "_"
        self._n = 0

    def next(self) -> str:
        self._n += 1
        return f"{self._prefix}{self._n}"
