"""Minting ephemeral client secrets over HTTP, in OpenAI's shapes: the GA
``POST /v1/realtime/client_secrets`` and the beta ``POST /v1/realtime/sessions``. The work
(checking the key and the session, keeping the secret) is the core's."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from rtcore.gateway import Gateway, UnknownModel
from rtcore.keys.client_secrets import (
    BETA_TTL_SECONDS,
    DEFAULT_TTL_SECONDS,
    MAX_TTL_SECONDS,
    MIN_TTL_SECONDS,
)
from rtcore.keys.errors import Refusal
from rtcore_websocket.cors import Cors
from rtcore_websocket.handshake import read_handshake
from rtcore_websocket.refusals import refusal_response
from rtcore_websocket.request_bodies import read_json_object

GATEWAY: web.AppKey[Gateway] = web.AppKey("secrets-gateway", Gateway)


def _bad(message: str, param: str | None = None, code: str = "invalid_value") -> web.Response:
    return refusal_response(Refusal(400, code, message, param=param))


def _unknown(given: dict[str, Any], known: set[str], prefix: str = "") -> web.Response | None:
    """The refusal of a field this request does not take (as OpenAI's API refuses it)."""
    unknown = sorted(set(given) - known)
    if not unknown:
        return None
    name = f"{prefix}{unknown[0][:64]}"
    return _bad(f"Unknown parameter: {name!r}.", name, code="unknown_parameter")


async def _body(request: web.Request) -> dict[str, Any] | web.Response:
    """The body (none at all: ``{}``), or the refusal of it."""
    try:
        return await read_json_object(request, optional=True)
    except Refusal as refusal:
        return refusal_response(refusal)


async def _mint(
    request: web.Request, session: dict[str, Any], ttl: int
) -> tuple[dict[str, Any], Any] | web.Response:
    """Check the key, the model and the session; the minted secret and the session."""
    gateway = request.app[GATEWAY]
    try:
        # Before the model is looked at: a wrong key learns nothing of the models.
        caller = await gateway.caller(read_handshake(request.headers).key)
    except Refusal as refusal:
        return refusal_response(refusal)
    named = session.get("model")
    if named is not None and not isinstance(named, str):
        return _bad("model must be the name of a served model.", "session.model")
    try:
        if named is None and len(gateway.model_names) > 1:
            # Not bound to a model: the client names one when it connects. The session is
            # checked against the first (models served by one provider take the same).
            model = gateway.resolve_model(gateway.model_names[0])
        else:
            model = gateway.resolve_model(named)
            session = {**session, "model": model.name}
    except UnknownModel as exc:
        return refusal_response(Refusal(404, "model_not_found", exc.message, param="session.model"))
    problem = gateway.check_session(model, session)
    if problem is not None:
        return refusal_response(problem)
    try:
        minted = await gateway.mint_secret(caller, ttl, session)
    except Refusal as refusal:
        return refusal_response(refusal)
    return session, minted


async def client_secrets(request: web.Request) -> web.Response:
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    if (unknown := _unknown(body, {"expires_after", "session"})) is not None:
        return unknown
    expires = body.get("expires_after")
    if expires is None:
        expires = {}
    if not isinstance(expires, dict):
        return _bad("expires_after must be an object.", "expires_after")
    if (unknown := _unknown(expires, {"anchor", "seconds"}, "expires_after.")) is not None:
        return unknown
    anchor = expires.get("anchor", "created_at")
    if anchor != "created_at":
        return _bad("expires_after.anchor must be 'created_at'.", "expires_after.anchor")
    ttl = expires.get("seconds", DEFAULT_TTL_SECONDS)
    if (
        isinstance(ttl, bool)
        or not isinstance(ttl, int)
        or not (MIN_TTL_SECONDS <= ttl <= MAX_TTL_SECONDS)
    ):
        return _bad(
            f"expires_after.seconds must be a whole number from {MIN_TTL_SECONDS} to "
            f"{MAX_TTL_SECONDS}.",
            "expires_after.seconds",
        )
    session = body.get("session")
    if session is None:
        session = {"type": "realtime"}
    if not isinstance(session, dict):
        return _bad("session must be an object.", "session")
    if session.get("type", "realtime") != "realtime":
        return _bad(
            "Only realtime sessions are served here (not transcription sessions).",
            "session.type",
        )
    minted = await _mint(request, {**session, "type": "realtime"}, ttl)
    if isinstance(minted, web.Response):
        return minted
    config, secret = minted
    return web.json_response(
        {"value": secret.value, "expires_at": secret.expires_at, "session": config}
    )


async def beta_sessions(request: web.Request) -> web.Response:
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    minted = await _mint(request, body, BETA_TTL_SECONDS)
    if isinstance(minted, web.Response):
        return minted
    config, secret = minted
    return web.json_response(
        {
            "id": f"sess_{secrets.token_hex(12)}",
            "object": "realtime.session",
            **config,
            "client_secret": {"value": secret.value, "expires_at": secret.expires_at},
        }
    )


def add_secret_routes(app: web.Application, gateway: Gateway, cors: Cors) -> None:
    app[GATEWAY] = gateway
    for prefix in ("/v1/realtime", "/realtime"):
        # Browser pages call these too (the playground mints with the key typed in).
        cors.add_route(app, "POST", f"{prefix}/client_secrets", client_secrets)
        cors.add_route(app, "POST", f"{prefix}/sessions", beta_sessions)
