"""Registers the WebSocket transport and its ``rtcore serve`` options (TLS, browser
origins, pings, timeouts). aiohttp is imported only when serving starts."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

import rtcore
from rtcore.transport import TransportSpec

if TYPE_CHECKING:
    from rtcore.gateway import Gateway
    from rtcore.serve_settings import ServeSettings


async def serve(gateway: Gateway, settings: ServeSettings) -> None:
    from rtcore_websocket.server import serve_websocket

    await serve_websocket(gateway, settings)


def check(settings: ServeSettings) -> None:
    from rtcore_websocket.binding import check_binding
    from rtcore_websocket.options import WebSocketOptions

    check_binding(settings)
    WebSocketOptions.of(settings)  # what cannot be served with stops the start here


def preload() -> None:
    import rtcore_websocket.server  # noqa: F401  (aiohttp)


@rtcore.hookimpl
def rtcore_add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    from rtcore_websocket.options import add_arguments

    add_arguments(parser)


@rtcore.hookimpl
def rtcore_register_transports() -> Sequence[TransportSpec]:
    return [
        TransportSpec(
            name="websocket",
            serve=serve,
            description="OpenAI Realtime over WebSocket: ws://HOST:PORT/v1/realtime?model=NAME",
            check=check,
            shares_port=True,
            preload=preload,
        )
    ]
