"""Registers the WebSocket transport. aiohttp is imported only when serving starts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import rtcore
from rtcore.transport import TransportSpec

if TYPE_CHECKING:
    from rtcore.gateway import Gateway
    from rtcore.serving import ServeSettings


async def serve(gateway: Gateway, settings: ServeSettings) -> None:
    from rtcore_websocket.server import serve_websocket

    await serve_websocket(gateway, settings)


@rtcore.hookimpl
def rtcore_register_transports() -> Sequence[TransportSpec]:
    return [
        TransportSpec(
            name="websocket",
            serve=serve,
            description="OpenAI Realtime over WebSocket: ws://HOST:PORT/v1/realtime?model=NAME",
        )
    ]
