"""The key admin API in LiteLLM's shape (``/key/*``, ``/spend/logs``), so operators'
scripts keep working: HTTP in and out here, the work in the core's key store. Every call
takes the master key, but for ``/key/info``, which a virtual key may also make for itself."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from rtcore.gateway import Gateway
from rtcore.keys.client_secrets import is_secret
from rtcore.keys.errors import Refusal
from rtcore.keys.hashing import hash_key
from rtcore.keys.litellm_db import LiteLLMKeyStore, managed_by_litellm
from rtcore.keys.store import KeyStore
from rtcore_websocket.handshake import read_handshake
from rtcore_websocket.operations import loggable
from rtcore_websocket.refusals import refusal_response
from rtcore_websocket.request_bodies import read_json_object

log = logging.getLogger(__name__)

GATEWAY: web.AppKey[Gateway] = web.AppKey("admin-gateway", Gateway)

type Operation = Callable[[KeyStore, web.Request], Awaitable[Any]]


def _admin(operation: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        gateway = request.app[GATEWAY]
        try:
            if not gateway.requires_key:
                raise Refusal(
                    403,
                    "no_master_key",
                    "The key admin API needs a master key: set general_settings.master_key "
                    "(or RTCORE_MASTER_KEY / LITELLM_MASTER_KEY).",
                )
            presented = read_handshake(request.headers).key
            if not gateway.authenticate(presented):
                raise Refusal(401, "invalid_api_key", "The key admin API takes the master key.")
            if gateway.keys is None:
                raise Refusal(503, "no_key_store", "No key store is open on this server.")
            if isinstance(gateway.keys, LiteLLMKeyStore) and request.path != "/spend/logs":
                raise managed_by_litellm()
            result = await operation(gateway.keys, request)
        except Refusal as refusal:
            log.info("admin %s refused: %s", loggable(request.path), refusal.code)
            return refusal_response(refusal)
        return web.json_response(result)

    return handler


async def _generate(store: KeyStore, request: web.Request) -> Any:
    body = await read_json_object(request)
    if isinstance(body.get("key"), str) and request.app[GATEWAY].authenticate(body["key"]):
        raise Refusal(400, "key_exists", "The master key cannot be a virtual key.", param="key")
    result = await store.generate(body)
    log.info("key generated: %s (%s)", result["key_name"], result["key_alias"] or "no alias")
    return result


async def _info(store: KeyStore, request: web.Request) -> Any:
    key = request.query.get("key")
    if not key:
        raise Refusal(400, "invalid_value", "Give the key as ?key=sk-...", param="key")
    return await store.info(key)


async def _own_info(request: web.Request) -> web.StreamResponse:
    """``/key/info`` as LiteLLM answers a virtual key: its own key's (no ``?key=``, or
    ``?key=`` naming itself), never another's (403, whether that one exists or not). The
    master key reads any key's."""
    gateway = request.app[GATEWAY]
    presented = read_handshake(request.headers).key
    if not gateway.requires_key or gateway.authenticate(presented):
        return await _admin(_info)(request)
    try:
        if presented is None or is_secret(presented) or gateway.keys is None:
            raise Refusal(401, "invalid_api_key", "Incorrect API key provided.")
        if isinstance(gateway.keys, LiteLLMKeyStore):
            raise managed_by_litellm()
        result = await gateway.keys.own_info(hash_key(presented), request.query.get("key"))
    except Refusal as refusal:
        log.info("key info refused: %s", refusal.code)
        return refusal_response(refusal)
    return web.json_response(result)


async def _regenerate(store: KeyStore, request: web.Request) -> Any:
    body = await read_json_object(request, optional=True)
    key = request.match_info.get("key") or body.get("key")
    if not isinstance(key, str) or not key:
        raise Refusal(
            400,
            "invalid_value",
            "Give the key to regenerate as 'key' (or in the path).",
            param="key",
        )
    if request.app[GATEWAY].authenticate(key):
        raise Refusal(
            400,
            "invalid_value",
            "The master key is set in the configuration, not regenerated here.",
            param="key",
        )
    new = body.get("new_key")
    if isinstance(new, str) and request.app[GATEWAY].authenticate(new):
        raise Refusal(400, "key_exists", "The master key cannot be a virtual key.", param="new_key")
    result = await store.regenerate(key, body)
    log.info("key regenerated: %s (%s)", result["key_name"], result["key_alias"] or "no alias")
    return result


async def _block(store: KeyStore, request: web.Request) -> Any:
    return await store.set_blocked(await read_json_object(request), True)


async def _unblock(store: KeyStore, request: web.Request) -> Any:
    return await store.set_blocked(await read_json_object(request), False)


async def _update(store: KeyStore, request: web.Request) -> Any:
    return await store.update(await read_json_object(request))


async def _delete(store: KeyStore, request: web.Request) -> Any:
    return await store.delete(await read_json_object(request))


async def _list(store: KeyStore, request: web.Request) -> Any:
    return await store.list_keys(request.query)


async def _spend_logs(store: KeyStore, request: web.Request) -> Any:
    return await store.spend_logs(request.query)


def add_routes(app: web.Application, gateway: Gateway) -> None:
    app[GATEWAY] = gateway
    app.router.add_post("/key/generate", _admin(_generate))
    app.router.add_get("/key/info", _own_info)
    app.router.add_post("/key/regenerate", _admin(_regenerate))
    app.router.add_post("/key/{key}/regenerate", _admin(_regenerate))
    app.router.add_post("/key/block", _admin(_block))
    app.router.add_post("/key/unblock", _admin(_unblock))
    app.router.add_post("/key/update", _admin(_update))
    app.router.add_post("/key/delete", _admin(_delete))
    app.router.add_get("/key/list", _admin(_list))
    app.router.add_get("/spend/logs", _admin(_spend_logs))
