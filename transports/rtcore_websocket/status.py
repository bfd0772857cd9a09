"""What answers beside the realtime endpoint about the server itself: liveness and
readiness probes, the model list, and the browser playground's page."""

from __future__ import annotations

import os
from pathlib import Path

from aiohttp import web

from rtcore_websocket.app_keys import GATEWAY, SETTINGS
from rtcore_websocket.handshake import read_handshake
from rtcore_websocket.refusals import error_response

READINESS_PATH = "/health/readiness"
HEALTH_PATHS = ("/health", READINESS_PATH)
# LiteLLM's liveness probes, with LiteLLM's answer (a JSON string), which probes match.
LIVENESS_PATHS = ("/health/liveliness", "/health/liveness")
MODELS_PATHS = ("/v1/models", "/models")
WORKER_HEADER = "X-Rtcore-Worker"
# The browser playground: static files shipped inside this package, no build step.
STATIC_DIR = Path(__file__).parent / "static"


async def liveness(request: web.Request) -> web.Response:
    """The process answers."""
    return _worker_tagged(request, web.json_response("I'm alive!"))


def _worker_tagged(request: web.Request, response: web.Response) -> web.Response:
    if request.app[SETTINGS].worker_index is not None:
        # Which of the ``--workers`` processes answered (the port is shared).
        response.headers[WORKER_HEADER] = str(os.getpid())
    return response


async def health(request: web.Request) -> web.Response:
    """Liveness (``/health``): the process answers. Readiness
    (``/health/readiness``): every model can serve sessions and the key store (if any)
    takes writes, else 503 and why not."""
    body: dict[str, object] = {"status": "ok"}
    status = 200
    if request.path == READINESS_PATH:
        gateway = request.app[GATEWAY]
        problems = await gateway.readiness()
        store = gateway.key_store_problem
        if problems or store:
            state = "draining" if gateway.draining else "unavailable"
            body, status = {"status": state, "models": problems}, 503
            if store:
                body["key_store"] = store
    return _worker_tagged(request, web.json_response(body, status=status))


async def models(request: web.Request) -> web.Response:
    """The configured model names, shaped like OpenAI's ``GET /v1/models``, plus each
    model's voices (the playground fills its pickers from it). Behind the same key as the
    realtime endpoint. In the order they were configured, the server's default model
    (``--model``, or the provider's own name) first: what a picker should offer first."""
    gateway = request.app[GATEWAY]
    if not gateway.authenticate(read_handshake(request.headers).key):
        return error_response(401, "invalid_api_key", "Incorrect or missing API key.")
    settings = request.app[SETTINGS]
    served = set(gateway.model_names)
    configured = [settings.model, *(m.name for m in settings.models), *gateway.model_names]
    data = []
    for name in dict.fromkeys(n for n in configured if n in served):
        caps = gateway.provider_for(gateway.resolve_model(name)).capabilities
        data.append(
            {
                "id": name,
                "object": "model",
                "created": 0,
                "owned_by": "rtcore",
                "voices": list(caps.voices),
                "default_voice": caps.default_voice,
            }
        )
    return web.json_response({"object": "list", "data": data})


async def playground(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html")
