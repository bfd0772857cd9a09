"""The interface a transport plugin implements.

A transport moves frames between clients and the core. It authenticates, picks the model
and the dialect hint from its own framing (URL, headers, flags), then hands each client frame
to a ``Connection`` and writes what the connection's ``outgoing()`` yields. It never parses
events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from rtcore.gateway import Gateway
    from rtcore.serve_settings import ServeSettings


class TransportSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Registers a transport: ``serve`` runs until cancelled (a network server) or until its
    only client is done (stdio).

    ``check`` refuses settings the transport cannot serve (raising ``ServeError``) before
    anything starts: no provider built, no worker started. ``shares_port``: several
    processes can serve it at once (``--workers``), each listening on the same port.
    ``preload`` imports what ``serve`` needs, so that workers forked from an
    already-imported parent start serving at once instead of importing it each.
    """

    name: str
    serve: Callable[[Gateway, ServeSettings], Awaitable[None]]
    description: str = ""
    check: Callable[[ServeSettings], None] | None = None
    shares_port: bool = False
    preload: Callable[[], None] | None = None
