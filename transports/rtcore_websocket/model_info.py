"""LiteLLM's ``GET /model/info`` (and ``/v1/model/info``): every deployment of the model
table as ``{"model_name", "litellm_params", "model_info"}``, without its secrets. The master
key sees every deployment; a virtual key those of the models it may open."""

from __future__ import annotations

import re
from collections.abc import Mapping

from aiohttp import web

from rtcore.gateway import Gateway
from rtcore.logs import SECRET_PARAM
from rtcore.provider import ModelConfig
from rtcore_websocket.handshake import read_handshake

GATEWAY: web.AppKey[Gateway] = web.AppKey("model-info-gateway", Gateway)
PATHS = ("/model/info", "/v1/model/info")
# Names the secret-name rule would take for secrets, and that are prices and limits.
_NOT_SECRET = re.compile(r"cost|tokens|per_token", re.IGNORECASE)


def _public(values: Mapping[str, object]) -> dict[str, object]:
    """``values`` without what is, or may hold, a credential (by its name, as the log
    masks them): an API key, an AWS secret, a token, a password."""
    return {k: v for k, v in values.items() if not SECRET_PARAM.search(k) or _NOT_SECRET.search(k)}


def deployment_info(entry: ModelConfig) -> dict[str, object]:
    return {
        "model_name": entry.name,
        "litellm_params": {**_public(entry.params), "model": f"{entry.provider}/{entry.model}"},
        "model_info": {
            **_public(entry.info),
            "id": entry.deployment_id,
            "mode": "realtime",
            "db_model": False,
        },
    }


async def model_info(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    caller = await gateway.caller(read_handshake(request.headers).key)  # Refusal: 401
    allowed: list[str] = []
    if caller.key_hash is not None and gateway.keys is not None:
        allowed = (await gateway.keys.own_info(caller.key_hash, None))["info"]["models"]
    wanted = request.query.get("litellm_model_id")
    data = [
        deployment_info(entry)
        for entry in gateway.deployments_configured
        if (not allowed or entry.name in allowed)
        and (wanted is None or entry.deployment_id == wanted)
    ]
    return web.json_response({"data": data})


def add_model_info_routes(app: web.Application, gateway: Gateway) -> None:
    app[GATEWAY] = gateway
    for path in PATHS:
        app.router.add_get(path, model_info)
