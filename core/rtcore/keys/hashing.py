"""How keys and secrets are stored: as their SHA-256, never as themselves."""

from __future__ import annotations

import hashlib


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()
