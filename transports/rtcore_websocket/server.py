"""The aiohttp server: refuse bad handshakes with an HTTP error, then pump frames.

Each accepted client gets one ``Connection`` from the gateway and one task group with a
reader (socket → connection) and a writer (connection → socket), ``pump``; when either
side ends, the other is stopped. The handler is the only reader of its socket. A call's
sideband is ``sideband``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, NamedTuple

from aiohttp import WSCloseCode, web

from rtcore.audio import PCM16_RATES
from rtcore.connection import SHUTTING_DOWN
from rtcore.dialect import Dialect
from rtcore.gateway import Gateway, UnknownModel
from rtcore.keys.errors import Refusal
from rtcore.provider import ModelConfig
from rtcore.provider import messages as n
from rtcore.serve_settings import ServeError, ServeSettings
from rtcore_websocket.admin import add_routes
from rtcore_websocket.app_keys import GATEWAY, OPTIONS, SETTINGS, SOCKETS
from rtcore_websocket.client_secrets import add_secret_routes
from rtcore_websocket.cors import Cors
from rtcore_websocket.guard import ConnectionGuard
from rtcore_websocket.handshake import Handshake, read_handshake
from rtcore_websocket.model_info import add_model_info_routes
from rtcore_websocket.mounted import mount
from rtcore_websocket.operations import ACCESS, AccessLogger, metrics_route, refused
from rtcore_websocket.options import WebSocketOptions
from rtcore_websocket.origins import origin_allowed
from rtcore_websocket.pump import (
    CLIENT_TOO_SLOW,
    SLOW_REASON,
    SlowClient,
    close,
    close_or_drop,
    pump,
)
from rtcore_websocket.refusals import error_response, refusal, refusals, refused_with
from rtcore_websocket.sideband import sideband
from rtcore_websocket.status import (
    HEALTH_PATHS,
    LIVENESS_PATHS,
    MODELS_PATHS,
    STATIC_DIR,
    health,
    liveness,
    models,
    playground,
)

if TYPE_CHECKING:
    from rtcore.keys.store import Admission

log = logging.getLogger(__name__)


SHUTDOWN_TIMEOUT_SECONDS = 5.0
REALTIME_PATHS = ("/v1/realtime", "/realtime", "/openai/v1/realtime")


def input_audio_rate(request: web.Request) -> int | web.Response | None:
    """``?input_audio_rate=N``: the rate a beta ``"pcm16"`` input stands for on this
    connection (see docs/audio.md); a refusal when N is not a PCM16 rate rtcore converts."""
    raw = request.query.get("input_audio_rate")
    if raw is None:
        return None
    rates = ", ".join(str(r) for r in PCM16_RATES)
    if not raw.isdigit() or int(raw) not in PCM16_RATES:
        return error_response(
            400,
            "invalid_value",
            f"Invalid input_audio_rate {raw!r}: expected one of {rates}.",
            param="input_audio_rate",
        )
    return int(raw)


def _refuse_cross_origin(request: web.Request, options: WebSocketOptions) -> web.Response | None:
    """A browser page of an origin not allowed: refused before anything else is read."""
    origin = request.headers.get("Origin")
    if origin_allowed(origin, request.host, options.allowed_origins):
        return None
    log.info("refused %s: cross-origin upgrade from %s", request.remote, origin)
    return refused_with(
        403,
        "origin_not_allowed",
        f"WebSocket connections from pages of {origin} are not allowed here. The server "
        "operator can allow them with --allowed-origin ORIGIN or "
        "general_settings.allowed_origins.",
    )


class Accepted(NamedTuple):
    """An upgrade that passed every check but the key's admission."""

    ws: web.WebSocketResponse
    handshake: Handshake
    model: ModelConfig
    pcm16_input_rate: int | None


async def realtime(request: web.Request) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    accepted = await _accept(request)
    if not isinstance(accepted, Accepted):
        return accepted
    ws = accepted.ws
    try:
        admission = await gateway.admit(accepted.handshake.key, accepted.model)
    except Refusal as refused_key:
        log.info("refused %s: %s", request.remote, refused_key.code)
        return refusal(refused_key)
    try:
        await ws.prepare(request)
    except BaseException:
        # The client went before its session began: its lease goes back now.
        await gateway.release(admission)
        raise
    await _run_session(request, accepted, admission)
    return ws


async def _accept(request: web.Request) -> Accepted | web.StreamResponse:
    """The upgrade checked (origin, draining, key, model, query, subprotocol), or what
    answers it instead: a refusal, or a call's sideband."""
    gateway = request.app[GATEWAY]
    settings = request.app[SETTINGS]
    options = request.app[OPTIONS]
    if (cross_origin := _refuse_cross_origin(request, options)) is not None:
        return cross_origin
    if gateway.draining:
        # Before anything else: a load balancer retries the upgrade on another replica.
        log.info("refused %s: the server is shutting down", request.remote)
        return refused_with(
            503,
            SHUTTING_DOWN,
            "The server is shutting down and takes no new sessions; connect again.",
        )
    handshake = read_handshake(request.headers)
    if "call_id" in request.query:
        return await sideband(request, request.query["call_id"], handshake.key)
    model = await _model(request, handshake)
    if isinstance(model, web.Response):
        return model
    # What the request itself gets wrong is refused before the key is admitted: an
    # admission takes a session's lease (and spends a client secret).
    pcm16_input_rate = input_audio_rate(request)
    if isinstance(pcm16_input_rate, web.Response):
        return refused(pcm16_input_rate, "invalid_value")
    if handshake.offered_protocols and handshake.protocol is None:
        return refused_with(
            400,
            "invalid_subprotocol",
            "Offer the subprotocol 'realtime' alongside 'openai-insecure-api-key.KEY'.",
        )
    ws = web.WebSocketResponse(
        # Pings keep quiet sessions open through proxies and NATs and find dead peers.
        heartbeat=options.ping_interval_seconds or None,
        # Refused at the limit, before more of it is buffered (a frame twice the limit, held
        # whole to be refused, cost its size in memory per connection): a larger frame
        # closes the socket with 1009, message too big.
        max_msg_size=settings.max_message_bytes,
        protocols=(handshake.protocol,) if handshake.protocol else (),
        # Audio is base64: compressing it costs CPU on the hot path for little gain.
        compress=False,
    )
    if not ws.can_prepare(request).ok:
        return refused_with(
            426,
            "upgrade_required",
            "This endpoint speaks WebSocket: connect with ws://HOST:PORT/v1/realtime?model=NAME.",
        )
    return Accepted(ws, handshake, model, pcm16_input_rate)


async def _model(request: web.Request, handshake: Handshake) -> ModelConfig | web.Response:
    """The model the session is for, or the refusal of the key or of the model."""
    gateway = request.app[GATEWAY]
    try:
        # Before the model is looked at: a wrong key learns nothing of the models.
        await gateway.caller(handshake.key)
    except Refusal as refused_key:
        reason = "no API key" if handshake.key is None else refused_key.code
        log.info("refused %s: %s", request.remote, reason)
        return refusal(refused_key)
    try:
        return gateway.resolve_model(
            request.query.get("model")
            or await gateway.secret_model(handshake.key)
            or request.app[SETTINGS].model
        )
    except UnknownModel as exc:
        log.info("refused %s: %s", request.remote, exc.message)
        if exc.requested is None:
            return refused_with(400, "missing_model", exc.message, param="model")
        return refused_with(404, "model_not_found", exc.message, param="model")


async def _run_session(request: web.Request, accepted: Accepted, admission: Admission) -> None:
    """The session, from the upgraded socket until either side ends it."""
    gateway = request.app[GATEWAY]
    settings = request.app[SETTINGS]
    options = request.app[OPTIONS]
    ws = accepted.ws
    dialect = accepted.handshake.dialect or (
        Dialect(settings.dialect) if settings.dialect else None
    )
    sockets = request.app[SOCKETS]
    sockets.add(ws)
    failure: n.ProviderError | None = None
    slow = False
    try:
        async with gateway.connect(
            accepted.model,
            dialect=dialect,
            pcm16_input_rate=accepted.pcm16_input_rate,
            admission=admission,
            peer=request.remote,
        ) as connection:
            try:
                await pump(ws, connection, options.send_timeout_seconds)
            except* SlowClient:
                slow = True
                connection.abandon(
                    CLIENT_TOO_SLOW,
                    f"The client read nothing for {options.send_timeout_seconds:g} s.",
                )
            failure = connection.failure
    finally:
        sockets.discard(ws)
        if slow:
            # Its session is closed (the provider's too) and its memory returned; the
            # close frame may not get through a full buffer, so the socket is dropped.
            log.info(
                "dropped the connection of %s: it read nothing for %g s",
                request.remote,
                options.send_timeout_seconds,
            )
            await close_or_drop(ws, request, WSCloseCode.POLICY_VIOLATION, SLOW_REASON)
        else:
            await close(ws, failure)


async def _close_sockets(app: web.Application) -> None:
    sockets: set[web.WebSocketResponse] = app[SOCKETS]
    for ws in list(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")


def build_app(
    gateway: Gateway,
    settings: ServeSettings,
    guard: ConnectionGuard | None = None,
    options: WebSocketOptions | None = None,
) -> web.Application:
    app = web.Application(
        middlewares=[*([guard.middleware] if guard is not None else []), refusals]
    )
    app[GATEWAY] = gateway
    app[SETTINGS] = settings
    app[OPTIONS] = options if options is not None else WebSocketOptions.of(settings)
    app[SOCKETS] = set()
    for path in REALTIME_PATHS:
        app.router.add_get(path, realtime)
    for path in HEALTH_PATHS:
        app.router.add_get(path, health)
    for path in LIVENESS_PATHS:
        app.router.add_get(path, liveness)
    for path in MODELS_PATHS:
        app.router.add_get(path, models)
    add_routes(app, gateway)
    add_model_info_routes(app, gateway)
    # Browser pages of the allowed origins call these from their own origin.
    cors = Cors(app[OPTIONS].allowed_origins)
    add_secret_routes(app, gateway, cors)
    mount(app, gateway.http_routes, cors)
    if settings.metrics:
        app.router.add_routes([metrics_route(gateway, settings.metrics_require_key)])
    app.router.add_get("/", playground)
    app.router.add_static("/playground/", STATIC_DIR)
    app.on_shutdown.append(_close_sockets)
    return app


def _url(address: object, tls: bool = False) -> str:
    host, port = address[0], address[1]  # type: ignore[index]
    host = f"[{host}]" if ":" in str(host) else host
    return f"{'wss' if tls else 'ws'}://{host}:{port}/v1/realtime"


async def serve_websocket(gateway: Gateway, settings: ServeSettings) -> None:
    """Listen until cancelled; then close every session and stop. ``rtcore serve`` has
    checked the binding (``binding.check_binding``) before anything started."""
    options = WebSocketOptions.of(settings)
    guard = ConnectionGuard(timeout=options.header_timeout_seconds)
    runner = web.AppRunner(
        build_app(gateway, settings, guard, options),
        handle_signals=False,
        access_log_class=AccessLogger,
        access_log=ACCESS,
        shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
    )
    await runner.setup()
    assert runner.server is not None
    sweeping = asyncio.create_task(guard.run(runner.server), name="connection-guard")
    try:
        # With --workers, every worker listens on the same port; the kernel spreads the
        # connections over them.
        site = web.TCPSite(
            runner,
            settings.host,
            settings.port,
            reuse_port=settings.reuse_port,
            ssl_context=options.tls_context(),
        )
        try:
            await site.start()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            where = f"{settings.host}:{settings.port}"
            raise ServeError(f"cannot listen on {where}: {reason}") from None
        if settings.worker_index:
            # Said once, by the first worker; the others are listening alike.
            await asyncio.get_running_loop().create_future()  # until cancelled
        if not gateway.requires_key:
            where = (
                "listening on loopback only"
                if settings.is_loopback
                else "listening beyond loopback because of --allow-unauthenticated-public"
            )
            log.warning("no master key configured: any API key is accepted; %s", where)
        models = ", ".join(gateway.model_names)
        for address in runner.addresses:
            url = _url(address, options.tls)
            log.info("listening on %s?model=NAME (models: %s)", url, models)
        await asyncio.get_running_loop().create_future()  # until cancelled
    finally:
        sweeping.cancel()
        await runner.cleanup()
