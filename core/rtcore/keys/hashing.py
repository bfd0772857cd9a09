"""How keys and secrets are stored: as their SHA-256, never as themselves."""

from __future__ import annotations

import hashlib


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def stored_token(key: str) -> str:
    """The stored token of a key given as itself (``sk-...``) or as its token already (what
    ``/key/list`` and the spend log show)."""
    return key if len(key) == 64 and not key.startswith("sk-") else hash_key(key)
