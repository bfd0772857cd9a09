"""Plugins' HTTP endpoints (``rtcore_http_routes``: WebRTC calls, ...) served here,
translated between aiohttp and the core's neutral request and response."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from rtcore.http import Handler, HttpRequest, HttpRoute, error_response
from rtcore_websocket.cors import Cors

# A WebRTC offer is a few kB; a session part a few more.
MAX_BODY_BYTES = 1024 * 1024


type AiohttpHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _adapt(handle: Handler) -> AiohttpHandler:
    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
                raise web.HTTPRequestEntityTooLarge(MAX_BODY_BYTES, request.content_length)
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            # aiohttp's own answer is plain text; clients read OpenAI's error object.
            answer = error_response(
                413,
                "request_too_large",
                f"The request body is larger than {MAX_BODY_BYTES} bytes.",
            )
        else:
            neutral = HttpRequest(
                method=request.method,
                path=request.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                query=dict(request.query),
                body=body,
                remote=request.remote,
                params=dict(request.match_info),
            )
            answer = await handle(neutral)
        response = web.Response(status=answer.status, body=answer.body, headers=answer.headers)
        response.content_type = answer.content_type
        return response

    return handler


def mount(app: web.Application, routes: Sequence[HttpRoute], cors: Cors) -> None:
    """Plugins' endpoints are for clients, browsers' pages among them: with CORS."""
    for route in routes:
        cors.add_route(app, route.method, route.path, _adapt(route.handle))
