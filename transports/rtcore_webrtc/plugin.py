"""Registers the WebRTC endpoints (``/v1/realtime/calls``) with rtcore's HTTP server.
aiortc and PyAV are imported only when serving starts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import rtcore

if TYPE_CHECKING:
    from rtcore.gateway import Gateway
    from rtcore.http import HttpRoute
    from rtcore.serve_settings import ServeSettings


@rtcore.hookimpl
def rtcore_http_routes(gateway: Gateway, settings: ServeSettings) -> Sequence[HttpRoute]:
    from rtcore_webrtc.endpoints import Calls
    from rtcore_webrtc.ice import gather_on

    gather_on(settings.host)
    return Calls(gateway, settings).routes()
