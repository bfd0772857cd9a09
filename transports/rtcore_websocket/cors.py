"""CORS for the HTTP endpoints a browser page calls (WebRTC calls, minting client secrets,
plugins' routes): pages of the origins allowed to open WebSocket sessions (``origins.py``)
may call them from their own origin; others get no CORS headers, so the browser keeps the
answer from them, and their requests are refused before they do anything (a form post
needs no preflight)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from rtcore.keys.errors import Refusal
from rtcore_websocket.origins import origin_allowed
from rtcore_websocket.refusals import refusal_response

log = logging.getLogger(__name__)

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# What browsers' clients send: the key and the body's type, the beta header, and what the
# openai JS SDK (its X-Stainless-* platform headers, OpenAI-Organization/-Project) and
# @openai/agents-realtime (X-OpenAI-Agents-SDK) add; ``api-key`` as Azure-style clients.
ALLOWED_HEADERS = (
    "authorization",
    "content-type",
    "api-key",
    "openai-beta",
    "openai-organization",
    "openai-project",
    "x-openai-agents-sdk",
    "x-stainless-arch",
    "x-stainless-helper-method",
    "x-stainless-lang",
    "x-stainless-os",
    "x-stainless-package-version",
    "x-stainless-retry-count",
    "x-stainless-runtime",
    "x-stainless-runtime-version",
    "x-stainless-timeout",
)
# A call's answer names the call in Location (the client hangs up with it).
EXPOSED_HEADERS = ("Location",)
MAX_AGE_SECONDS = 600


class Cors:
    def __init__(self, allowed_origins: tuple[str, ...]) -> None:
        self.allowed_origins = allowed_origins
        # The methods served at each path, for its preflight's answer.
        self._methods: dict[str, set[str]] = {}

    def add_route(self, app: web.Application, method: str, path: str, handler: Handler) -> None:
        """Serve ``handler`` at ``method path``, to allowed pages of other origins too."""
        methods = self._methods.get(path)
        if methods is None:
            methods = self._methods[path] = set()
            app.router.add_route("OPTIONS", path, self._preflight(methods))
        methods.add(method.upper())
        app.router.add_route(method, path, self._marked(handler))

    def _allows(self, origin: str, request: web.Request) -> bool:
        return origin_allowed(origin, request.host, self.allowed_origins)

    def _refused(self, request: web.Request, origin: str) -> web.Response:
        log.info(
            "refused %s %s from %s: cross-origin from %s",
            request.method,
            request.path,
            request.remote,
            origin,
        )
        response = refusal_response(
            Refusal(
                403,
                "origin_not_allowed",
                f"Requests from pages of {origin} are not allowed here. The server operator "
                "can allow them with --allowed-origin ORIGIN or "
                "general_settings.allowed_origins.",
            )
        )
        response.headers["Vary"] = "Origin"
        return response

    def _preflight(self, methods: set[str]) -> Handler:
        async def preflight(request: web.Request) -> web.StreamResponse:
            allow = ", ".join(sorted(methods | {"OPTIONS"}))
            origin = request.headers.get("Origin")
            if origin is None:  # not a browser's preflight: what may be done here
                return web.Response(status=204, headers={"Allow": allow})
            if not self._allows(origin, request):
                return self._refused(request, origin)
            return web.Response(
                status=204,
                headers={
                    "Access-Control-Allow-Origin": origin,
                    "Access-Control-Allow-Methods": allow,
                    "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
                    "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
                    "Vary": "Origin",
                },
            )

        return preflight

    def _marked(self, handler: Handler) -> Handler:
        async def marked(request: web.Request) -> web.StreamResponse:
            origin = request.headers.get("Origin")
            if origin is not None and not self._allows(origin, request):
                return self._refused(request, origin)
            try:
                response = await handler(request)
            except web.HTTPException as error:  # an aiohttp refusal (a body too large)
                _mark(error, origin)
                raise
            _mark(response, origin)
            return response

        return marked


def _mark(response: web.StreamResponse, origin: str | None) -> None:
    # Answers differ by Origin: caches must keep them apart.
    response.headers["Vary"] = "Origin"
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
