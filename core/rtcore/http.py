"""HTTP endpoints a plugin adds to rtcore's HTTP server, in neutral terms.

The core knows no web framework: a plugin returns ``HttpRoute``s from the
``rtcore_http_routes`` hook, and whichever transport serves HTTP (the WebSocket transport)
mounts them beside its own, turning each request into an ``HttpRequest`` and each
``HttpResponse`` back. ``path`` may hold ``{name}`` parts, handed over in ``params``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping

import msgspec


class HttpRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``headers`` keys are lower case."""

    method: str
    path: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    remote: str | None = None
    params: Mapping[str, str] = msgspec.field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


class HttpResponse(msgspec.Struct, kw_only=True):
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = msgspec.field(default_factory=dict)


type Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


class HttpRoute(msgspec.Struct, frozen=True, kw_only=True):
    method: str
    path: str
    handle: Handler


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status=status, body=json.dumps(body).encode(), headers=headers or {})


def error_response(
    status: int, code: str, message: str, *, param: str | None = None, kind: str | None = None
) -> HttpResponse:
    """A refusal shaped like OpenAI's error object."""
    error = {
        "type": kind or "invalid_request_error",
        "code": code,
        "message": message,
        "param": param,
        "event_id": None,
    }
    return json_response(status, {"error": error})
