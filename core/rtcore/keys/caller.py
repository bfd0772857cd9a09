"""Who presents a key: the identity that owns what it starts (a WebRTC call), asked of
every door before it does anything."""

from __future__ import annotations

import msgspec


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """``key_hash``: the virtual key's stored token, or that of the key a client secret was
    minted from; None stands for the master key. ``master``: the master key itself (or
    anyone, with no master key configured), which owns everything. ``secret``: presented a
    client secret rather than a key."""

    key_hash: str | None = None
    master: bool = False
    secret: bool = False

    def owns(self, owner: str | None) -> bool:
        """Whether what was started by ``owner`` (a ``key_hash``) is this caller's."""
        return self.master or self.key_hash == owner
