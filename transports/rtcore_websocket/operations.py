"""What operators read over HTTP: ``/metrics`` for Prometheus, and the access log.

The access log has one line per request once it is answered: for a realtime session that
is when the session ends (status 101, its duration); for a refusal, the status and the
error code the client got. Probes (``/health*``, ``/metrics``) log at debug, so that a
load balancer's polling does not drown the rest.
"""

from __future__ import annotations

import logging
import re

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from rtcore.gateway import Gateway
from rtcore.logs import abbreviate
from rtcore.telemetry import metrics
from rtcore_websocket.handshake import read_handshake

ACCESS = logging.getLogger("rtcore.access")
METRICS_PATH = "/metrics"
# Set on a refusal's response: the OpenAI error code it carries (for the log and metrics).
ERROR_CODE = web.ResponseKey("rtcore_error_code", str)
PROBE_PREFIXES = ("/health", METRICS_PATH)
# LiteLLM's ``/key/{key}/regenerate`` carries a key in its path, of any length.
_KEY_IN_PATH = re.compile(r"^(/key/)([^/?#]+)(/regenerate)")


def loggable(target: str) -> str:
    """A request's path (and query) as a log may show it: a key in the path shortened
    (``sk-...abcd``), as the log formatter shortens the keys in a query."""
    return _KEY_IN_PATH.sub(lambda m: m[1] + abbreviate(m[2]) + m[3], target)


def metrics_route(gateway: Gateway, require_key: bool) -> web.RouteDef:
    async def serve_metrics(request: web.Request) -> web.Response:
        if require_key and not gateway.authenticate(read_handshake(request.headers).key):
            body = {"error": {"code": "invalid_api_key", "message": "Incorrect API key."}}
            return web.json_response(body, status=401)
        text, content_type = metrics.exposition()
        response = web.Response(body=text)
        # Prometheus' content type carries a version parameter aiohttp's helper rejects.
        response.headers["Content-Type"] = content_type
        return response

    return web.get(METRICS_PATH, serve_metrics)


def refused(response: web.Response, code: str) -> web.Response:
    """Mark a handshake refusal: counted, and its code in the access line."""
    response[ERROR_CODE] = code
    metrics.refused(code)
    return response


class AccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        level = logging.DEBUG if request.path.startswith(PROBE_PREFIXES) else logging.INFO
        if not ACCESS.isEnabledFor(level):
            return
        code = response.get(ERROR_CODE)
        ACCESS.log(
            level,
            '%s "%s %s" %d %.3fs%s',
            request.remote,
            request.method,
            loggable(str(request.rel_url)),
            response.status,
            time,
            f" {code}" if code else "",
            extra={
                "http": {
                    "peer": request.remote,
                    "method": request.method,
                    "path": loggable(request.path),
                    "status": response.status,
                    "seconds": round(time, 3),
                    "error_code": code,
                }
            },
        )

    @property
    def enabled(self) -> bool:
        return ACCESS.isEnabledFor(logging.DEBUG) or ACCESS.isEnabledFor(logging.INFO)
