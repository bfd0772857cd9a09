"""JSON request bodies of the HTTP API (the key admin API, client-secret minting), read
so that every bad one is a ``Refusal``: a content type that is not JSON, a body too large,
not UTF-8, not JSON, nested too deeply, not an object."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from rtcore.json_body import json_object
from rtcore.keys.errors import Refusal


def _json_type(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def read_json_object(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object; with ``optional``, no body at all is ``{}``."""
    declared = request.headers.get("Content-Type")
    # As OpenAI's API and LiteLLM's (FastAPI) do: a declared type must be JSON; none at
    # all is read as JSON.
    if declared is not None and not _json_type(declared):
        raise Refusal(
            400,
            "unsupported_content_type",
            f"Unsupported content type {declared[:100]!r}: this endpoint takes application/json.",
        )
    try:
        data = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise Refusal(
            413,
            "request_too_large",
            f"The request body is larger than {request.client_max_size} bytes.",
        ) from None
    if optional and not data.strip():
        return {}
    return json_object(data)
