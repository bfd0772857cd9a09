"""The aiohttp server: refuse bad handshakes with an HTTP error, then pump frames.

Each accepted client gets one ``Connection`` from the gateway and one task group with a
reader (socket → connection) and a writer (connection → socket); when either side ends,
the other is stopped. The handler is the only reader of its socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct

from aiohttp import WSCloseCode, WSMsgType, web

from rtcore.audio import PCM16_RATES
from rtcore.connection import SHUTTING_DOWN, Connection
from rtcore.dialect import Dialect
from rtcore.gateway import Gateway, UnknownModel
from rtcore.keys.errors import Refusal
from rtcore.provider import messages as neutral
from rtcore.serve_settings import ServeError, ServeSettings
from rtcore_websocket.admin import add_routes
from rtcore_websocket.app_keys import GATEWAY, OPTIONS, SETTINGS, SOCKETS
from rtcore_websocket.client_secrets import add_secret_routes
from rtcore_websocket.cors import Cors
from rtcore_websocket.guard import ConnectionGuard
from rtcore_websocket.handshake import read_handshake
from rtcore_websocket.model_info import add_model_info_routes
from rtcore_websocket.mounted import mount
from rtcore_websocket.operations import ACCESS, AccessLogger, metrics_route, refused
from rtcore_websocket.options import WebSocketOptions
from rtcore_websocket.origins import origin_allowed
from rtcore_websocket.refusals import error_response, refusal_response, refusals
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


async def realtime(request: web.Request) -> web.StreamResponse:
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
    try:
        # Before the model is looked at: a wrong key learns nothing of the models.
        await gateway.caller(handshake.key)
    except Refusal as refused_key:
        reason = "no API key" if handshake.key is None else refused_key.code
        log.info("refused %s: %s", request.remote, reason)
        return refusal(refused_key)
    try:
        model = gateway.resolve_model(
            request.query.get("model")
            or await gateway.secret_model(handshake.key)
            or settings.model
        )
    except UnknownModel as exc:
        log.info("refused %s: %s", request.remote, exc.message)
        if exc.requested is None:
            return refused_with(400, "missing_model", exc.message, param="model")
        return refused_with(404, "model_not_found", exc.message, param="model")
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
    try:
        admission = await gateway.admit(handshake.key, model)
    except Refusal as refused_key:
        log.info("refused %s: %s", request.remote, refused_key.code)
        return refusal(refused_key)
    try:
        await ws.prepare(request)
    except BaseException:
        # The client went before its session began: its lease goes back now.
        await gateway.release(admission)
        raise
    dialect = handshake.dialect or (Dialect(settings.dialect) if settings.dialect else None)
    sockets = request.app[SOCKETS]
    sockets.add(ws)
    failure: neutral.ProviderError | None = None
    slow = False
    try:
        async with gateway.connect(
            model,
            dialect=dialect,
            pcm16_input_rate=pcm16_input_rate,
            admission=admission,
            peer=request.remote,
        ) as connection:
            try:
                await _pump(ws, connection, options.send_timeout_seconds)
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
            await _close_or_drop(ws, request, WSCloseCode.POLICY_VIOLATION, SLOW_REASON)
        else:
            await _close(ws, failure)
    return ws


async def sideband(request: web.Request, call_id: str, key: str | None) -> web.StreamResponse:
    """``?call_id=``: a server attaches to a live WebRTC call to control it (OpenAI's
    sideband): what it sends reaches the call's session, and it sees every event the
    call's client is sent. With the key that opened the call (or the master key), never a
    client secret (that is the client's)."""
    gateway = request.app[GATEWAY]
    settings = request.app[SETTINGS]
    options = request.app[OPTIONS]
    try:
        caller = await gateway.caller(key)
    except Refusal as refused_key:
        log.info("refused a sideband from %s: %s", request.remote, refused_key.code)
        return refusal(refused_key)
    if caller.secret:
        log.info("refused a sideband from %s: a client secret", request.remote)
        return refused_with(
            401,
            "invalid_api_key",
            "A call's sideband takes the key that opened the call, not a client secret.",
        )
    # Another's call is answered as no call at all: ids cannot be probed.
    connection = gateway.attached(call_id, caller)
    if connection is None:
        return refused_with(404, "call_not_found", f"No live call {call_id!r} here.", "call_id")
    ws = web.WebSocketResponse(
        heartbeat=options.ping_interval_seconds or None,
        max_msg_size=settings.max_message_bytes,
        compress=False,
    )
    await ws.prepare(request)
    log.info("sideband of call %s attached (peer %s)", call_id, request.remote)

    async def forward() -> None:
        async for data in connection.tap():
            await ws.send_frame(data, WSMsgType.TEXT)
        # The call is over: so is its sideband (closed from here, the reader still reading).
        await ws.close(message=b"call ended")

    forwarding = asyncio.create_task(forward())
    try:
        async for message in ws:
            if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                await connection.receive(message.data)
    finally:
        forwarding.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
            await forwarding
        await ws.close()
        log.info("sideband of call %s detached", call_id)
    return ws


CLOSE_CODES = {
    "rate_limit_exceeded": WSCloseCode.TRY_AGAIN_LATER,
    SHUTTING_DOWN: WSCloseCode.GOING_AWAY,
}


def refused_with(status: int, code: str, message: str, param: str | None = None) -> web.Response:
    return refused(error_response(status, code, message, param), code)


def refusal(why: Refusal) -> web.Response:
    return refused(refusal_response(why), why.code)


class SlowClient(Exception):
    """The client has not read what was sent for the send timeout."""


SLOW_REASON = b"client too slow: it read nothing for too long"
CLIENT_TOO_SLOW = "client_too_slow"
# How long a client that stopped reading is given to take its close frame.
DROP_GRACE_SECONDS = 2.0


async def _close_or_drop(
    ws: web.WebSocketResponse, request: web.Request, code: int, reason: bytes
) -> None:
    """Offer the close frame for a moment, then drop the socket whatever came of it.

    The transport is taken first: once aiohttp gives up on a close it closes the
    transport gracefully (which waits for the unsent data to be read: for ever) and the
    request no longer holds it. ``asyncio.wait`` rather than a timeout scope, because the
    handler may arrive here with a cancellation pending from the task group that found the
    client slow, which a timeout scope would take for its own."""
    transport = request.transport
    closing = asyncio.create_task(ws.close(code=code, message=reason))
    closing.add_done_callback(_retrieve)
    try:
        await asyncio.wait({closing}, timeout=DROP_GRACE_SECONDS)
    finally:
        if transport is not None:
            _reset(transport)
        closing.cancel()


def _reset(transport: asyncio.Transport) -> None:
    """Drop a connection with a reset: its unsent data (megabytes, in the kernel's buffer
    too) is discarded at once rather than offered to a peer that reads nothing."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _retrieve(task: asyncio.Task[bool]) -> None:
    if not task.cancelled():
        task.exception()


async def _close(ws: web.WebSocketResponse, failure: neutral.ProviderError | None) -> None:
    """The close a session's end calls for: 1000 when the client ended it, else the code
    and reason of what ended it (a second call is a no-op)."""
    if failure is None:
        await ws.close()
        return
    # A close reason is at most 123 bytes of UTF-8, cut at a character boundary.
    why = f"{failure.code}: {failure.message}".encode()[:120]
    why = why.decode(errors="ignore").encode()
    # The upstream ended the session: 1011, not a clean 1000. Throttled: 1013 "try again
    # later" tells a client that waiting helps; a draining server is "going away".
    await ws.close(code=CLOSE_CODES.get(failure.code, WSCloseCode.INTERNAL_ERROR), message=why)


async def _pump(ws: web.WebSocketResponse, connection: Connection, send_timeout: float) -> None:
    closing = asyncio.Event()
    async with asyncio.TaskGroup() as group:
        reader = group.create_task(_read(ws, connection))
        writer = group.create_task(_write(ws, connection, send_timeout, closing))

        def client_gone(_: object) -> None:
            # The client ended it (its close, a reset): nothing more to send. Unless the
            # server is closing: then the reader ended on that close, whose handshake the
            # writer is finishing.
            if not closing.is_set():
                writer.cancel()

        reader.add_done_callback(client_gone)


async def _read(ws: web.WebSocketResponse, connection: Connection) -> None:
    async for message in ws:
        if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
            await connection.receive(message.data)
        elif message.type is WSMsgType.ERROR:
            log.info("client socket error: %s", ws.exception())
            return


async def _write(
    ws: web.WebSocketResponse, connection: Connection, send_timeout: float, closing: asyncio.Event
) -> None:
    try:
        async for data in connection.outgoing():
            # The core hands out UTF-8 JSON; sending it as a frame skips a decode/encode.
            # A client that stops reading fills the socket's buffers and stalls the send:
            # past the timeout it is dropped, not left to hold its session's memory.
            try:
                async with asyncio.timeout(send_timeout):
                    await ws.send_frame(data, WSMsgType.TEXT)
            except TimeoutError:
                raise SlowClient from None
    except ConnectionResetError:
        return  # the client went away; the reader sees it too
    # The session is over on the server's side: close from here, with the reader still
    # reading, so that it takes the client's close reply (a reader cancelled mid-read
    # leaves the handshake to wait out aiohttp's close timeout).
    closing.set()
    await _close(ws, connection.failure)


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
