"""rtcore-echo: a provider that answers deterministically, for examples and tests.

The module itself is the plugin (entry point ``echo = "rtcore_echo"``): rtcore's plugin
manager registers it and calls the hook below. Nothing runs at import time.
"""

from __future__ import annotations

import json
import mimetypes
import os
from collections.abc import Sequence
from pathlib import Path

import msgspec

import rtcore
from rtcore.gateway import Gateway
from rtcore.http import HttpRequest, HttpResponse, HttpRoute, json_response
from rtcore.provider import ProviderSpec
from rtcore_echo.provider import EchoProvider

__all__ = [
    "EchoProvider",
    "rtcore_http_routes",
    "rtcore_register_providers",
    "rtcore_session_ended",
]


@rtcore.hookimpl
def rtcore_register_providers() -> Sequence[ProviderSpec]:
    return [
        ProviderSpec(
            name="echo",
            factory=EchoProvider,
            description="Deterministic echo model for examples and tests",
            default_model="echo-1",
            models=("echo-1",),
            # Claims ``litellm_params.model: echo/echo-1`` in a config file.
            model_prefixes=("echo",),
        )
    ]


@rtcore.hookimpl
def rtcore_session_ended(record: object) -> None:
    """A logging sink, as a third-party plugin writes one: each session's record as a JSON
    line in the file ``RTCORE_ECHO_SESSION_LOG`` names (nothing when it is unset)."""
    path = os.environ.get("RTCORE_ECHO_SESSION_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(msgspec.to_builtins(record)) + "\n")


@rtcore.hookimpl
def rtcore_http_routes(gateway: Gateway, settings: object) -> Sequence[HttpRoute]:
    """An HTTP endpoint, as a third-party plugin adds one: ``GET /echo/live`` says how many
    sessions this process serves."""

    async def live(request: HttpRequest) -> HttpResponse:
        return json_response(200, {"live_sessions": gateway.live_sessions, "peer": request.remote})

    routes = [HttpRoute(method="GET", path="/echo/live", handle=live)]
    static = os.environ.get("RTCORE_ECHO_STATIC")
    if static:
        # Pages for browser tests, served from the gateway's own origin (no CORS).
        root = Path(static).resolve()

        async def page(request: HttpRequest) -> HttpResponse:
            path = (root / request.params["name"]).resolve()
            if root not in path.parents or not path.is_file():
                return json_response(404, {"error": "not found"})
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if path.suffix == ".mjs":
                kind = "text/javascript"
            return HttpResponse(status=200, body=path.read_bytes(), content_type=kind)

        routes.append(HttpRoute(method="GET", path="/echo/static/{name}", handle=page))
    return routes
