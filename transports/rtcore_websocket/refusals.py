"""Refusals as clients read them: OpenAI's error object over HTTP, for every route of this
server (the handshake, the admin API, minting, CORS, plugins' routes)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from rtcore.keys.errors import Refusal
from rtcore_websocket.operations import refused

log = logging.getLogger(__name__)

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def refusal_response(refusal: Refusal) -> web.Response:
    body = {
        "error": {
            "type": refusal.type,
            "code": refusal.code,
            "message": refusal.message,
            "param": refusal.param,
            "event_id": None,
        }
    }
    return web.json_response(body, status=refusal.status)


def error_response(status: int, code: str, message: str, param: str | None = None) -> web.Response:
    """An HTTP refusal shaped like OpenAI's error object (an invalid request)."""
    return refusal_response(Refusal(status, code, message, param=param))


@web.middleware
async def refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A refusal no handler answered, as its OpenAI-shaped error rather than a 500: above
    all the key store's 503 while it is down, which any lookup of a key may raise (a
    virtual key's upgrade, a WebRTC call, a sideband, minting a client secret)."""
    try:
        return await handler(request)
    except Refusal as refusal:
        log.info("%s %s refused: %s", request.method, request.path, refusal.code)
        return refused(refusal_response(refusal), refusal.code)


def refused_with(status: int, code: str, message: str, param: str | None = None) -> web.Response:
    return refused(error_response(status, code, message, param), code)


def refusal(why: Refusal) -> web.Response:
    return refused(refusal_response(why), why.code)
