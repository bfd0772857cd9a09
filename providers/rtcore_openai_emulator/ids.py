"""Object ids in OpenAI's style: a prefix and random characters."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 21) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def event_id() -> str:
    return new_id("event_")


def obfuscation() -> str:
    """The padding GA deltas carry so their length does not give the text away."""
    return new_id("", secrets.randbelow(12) + 4)
