"""Registers the stdio transport (JSON lines on stdin/stdout)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import rtcore
from rtcore.transport import TransportSpec

if TYPE_CHECKING:
    from rtcore.gateway import Gateway
    from rtcore.serve_settings import ServeSettings


async def serve(gateway: Gateway, settings: ServeSettings) -> None:
    from rtcore_stdio.session import serve_stdio

    await serve_stdio(gateway, settings)


@rtcore.hookimpl
def rtcore_register_transports() -> Sequence[TransportSpec]:
    return [
        TransportSpec(
            name="stdio",
            serve=serve,
            description="one session: client events on stdin, server events on stdout (JSON lines)",
        )
    ]
