"""OpenAI-style ids: a prefix and random base62. The one scheme for every id rtcore or a
provider mints (items, responses, sessions), so that ids from either side look alike."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 20) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))
