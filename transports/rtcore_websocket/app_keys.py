"""What the aiohttp application holds for its handlers."""

from __future__ import annotations

from aiohttp import web

from rtcore.gateway import Gateway
from rtcore.serve_settings import ServeSettings
from rtcore_websocket.options import WebSocketOptions

GATEWAY = web.AppKey("gateway", Gateway)
SETTINGS = web.AppKey("settings", ServeSettings)
OPTIONS = web.AppKey("options", WebSocketOptions)
SOCKETS = web.AppKey("sockets", set[web.WebSocketResponse])
