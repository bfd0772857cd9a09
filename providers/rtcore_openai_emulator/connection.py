"""One Realtime WebSocket: the route, authentication and model checks in each vendor's style,
the first events, the client-event loop, faults, keepalive and the session cap."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from rtcore_emulated_speech.script import Script
from rtcore_emulator_kit.web import Reset, reset, until_one_ends

from . import errors, faults
from .errors import ClientError, Close, error_event
from .outbox import Outbox
from .probe import AudioProbe
from .realtime import Hooks, Realtime
from .session_config import SessionConfig
from .stats import Closed, Stats
from .vendors import Route, Vendor, credential, known_model, route_of

log = logging.getLogger(__name__)

FAULT_HEADER = "x-rtcore-emulator-faults"
MAX_MESSAGE_BYTES = 32 * 1024 * 1024  # an append may carry 15 MiB of audio (reference §2.2)
CLIENT_EVENTS = (
    "session.update",
    "session.close",
    "input_audio_buffer.append",
    "session.input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.truncate",
    "conversation.item.delete",
    "conversation.item.retrieve",
    "response.create",
    "response.cancel",
)


@dataclass
class Settings:
    realtime_factor: float
    session_cap: float
    ping_interval: float
    script: Script
    faults: faults.FaultQueue
    always_faults: list[str] = field(default_factory=list)
    # With ``api_keys`` only those are accepted; ``rejected_keys`` are refused either way.
    api_keys: set[str] | None = None
    rejected_keys: set[str] = field(default_factory=set)
    deployments: dict[str, str] = field(default_factory=dict)
    probe: AudioProbe | None = None


def _accepted(key: str | None, settings: Settings) -> bool:
    if not key or key in settings.rejected_keys:
        return False
    return settings.api_keys is None or key in settings.api_keys


def _json_error(status: int, body: dict[str, Any], **headers: str) -> web.Response:
    return web.json_response(body, status=status, headers=headers or None)


async def handle(request: web.Request, settings: Settings, stats: Stats) -> web.StreamResponse:
    preview = request.path.rstrip("/") == "/openai/realtime"
    model = request.query.get("deployment" if preview else "model")
    route = route_of(request.path, model)
    if route is None:
        return _json_error(
            404,
            {
                "error": {
                    "type": "invalid_request_error",
                    "code": "not_found",
                    "message": f"Invalid URL (GET {request.path})",
                    "param": None,
                }
            },
        )
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        plan = faults.parse(
            [
                *settings.always_faults,
                *headers.get(FAULT_HEADER, "").split(","),
                *settings.faults.take(),
            ]
        )
    except faults.FaultSpecError as error:
        return _json_error(400, {"error": {"code": "BadFaultSpec", "message": str(error)}})
    if route.vendor is Vendor.AZURE:
        refusal = _azure_refusal(route, request, headers, model, plan, settings)
        if refusal is not None:
            stats.refused += 1
            return refusal
    # The live service pings about every 20 s (reference §3.7); xAI pings in JSON instead.
    heartbeat = (
        settings.ping_interval
        if settings.ping_interval > 0 and route.vendor is not Vendor.XAI
        else None
    )
    ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, autoping=True, heartbeat=heartbeat)
    await ws.prepare(request)
    stats.connections += 1
    stats.active += 1
    number = stats.connections
    try:
        await _serve(request, ws, route, headers, model, plan, number, settings, stats)
    except Close as close:
        stats.closes.append(Closed(number, close.code, close.reason))
        with contextlib.suppress(ConnectionError, RuntimeError):
            if close.error is not None:
                await ws.send_str(json.dumps(error_event(close.error)))
            await ws.close(code=close.code, message=close.reason.encode())
    except Reset:
        pass
    finally:
        stats.active -= 1
    return ws


def _azure_refusal(
    route: Route,
    request: web.Request,
    headers: dict[str, str],
    model: str | None,
    plan: faults.FaultPlan,
    settings: Settings,
) -> web.Response | None:
    """Azure refuses at the handshake: 400 for a model it cannot serve (reference §2,
    handshake errors); 401 for a bad key and 429 for throttling are the emulator's choice."""
    if route.preview and not request.query.get("api-version"):
        return _json_error(404, {"error": {"code": "404", "message": "Resource not found"}})
    if not _accepted(credential(Vendor.AZURE, headers), settings):
        return _json_error(401, errors.AZURE_BAD_KEY_BODY)
    if model is None or known_model(Vendor.AZURE, model, settings.deployments) is None:
        body = json.loads(
            json.dumps(errors.AZURE_BAD_MODEL_BODY).replace("{model}", str(model or ""))
        )
        return _json_error(400, body)
    action = plan.at_connect
    if action is not None and action.kind == "throttle":
        return _json_error(429, errors.AZURE_THROTTLED_BODY, **{"Retry-After": "1"})
    return None


def _refuse_openai_style(
    route: Route, headers: dict[str, str], model: str | None, settings: Settings
) -> None:
    """OpenAI upgrades first, then sends one ``error`` and closes 3000 (auth) or 4000 (model,
    beta header) (reference §0.2, §3.6). xAI's refusals are unverified: the emulator uses
    OpenAI's."""
    key = credential(route.vendor, headers)
    if not key:
        raise errors.missing_auth()
    if not _accepted(key, settings):
        raise errors.bad_key(key)
    if route.vendor is Vendor.OPENAI and "realtime=v1" in headers.get("openai-beta", ""):
        raise errors.beta_disabled()
    if not model:
        raise errors.missing_model()
    if known_model(route.vendor, model, settings.deployments) is None:
        raise errors.invalid_model(model)


async def _serve(
    request: web.Request,
    ws: web.WebSocketResponse,
    route: Route,
    headers: dict[str, str],
    model: str | None,
    plan: faults.FaultPlan,
    number: int,
    settings: Settings,
    stats: Stats,
) -> None:
    if route.vendor is not Vendor.AZURE:
        _refuse_openai_style(route, headers, model, settings)
    assert model is not None
    if plan.at_connect is not None:
        _act_at_connect(request, plan.at_connect)
    cap = plan.cap if plan.cap is not None else settings.session_cap
    config = SessionConfig.new(route.vendor, model, cap)
    out = Outbox(ws)
    response_faults = _ResponseFaults(request, plan, settings.faults, out)
    realtime = Realtime(
        config=config,
        out=out,
        script=settings.script,
        stats=stats,
        connection=number,
        realtime_factor=lambda: settings.realtime_factor,
        hooks=Hooks(response_faults.before_response, response_faults.first_output),
        probe=settings.probe,
    )
    response_faults.realtime = realtime
    if route.vendor is Vendor.XAI:
        # xAI opens with conversation.created (reference §2, first server events).
        await out.send(
            "conversation.created",
            conversation={"id": realtime.conversation.id, "object": "realtime.conversation"},
        )
    await out.send("session.created", session=config.wire())
    tasks: list[asyncio.Future[Any]] = [
        asyncio.create_task(_read(ws, realtime, route)),
        asyncio.create_task(_cap(cap)),
        response_faults.fatal,
    ]
    if route.vendor is Vendor.XAI and settings.ping_interval > 0:
        tasks.append(asyncio.create_task(_json_pings(out, settings.ping_interval)))
    try:
        await until_one_ends(tasks)
    finally:
        await realtime.close()


def _act_at_connect(request: web.Request, action: faults.Action) -> None:
    """A fault planned for the connection's opening, once it is upgraded."""
    if action.kind == "throttle":
        raise Close(
            action.code or 1013, "rate_limit_error.rate_limit_exceeded", errors.rate_limited()
        )
    if action.kind == "reset":
        reset(request)
    if action.kind == "close":
        raise Close(action.code or 1011, "fault")


@dataclass
class _ResponseFaults:
    """Where the fault plan (and the queue's struck faults) reach into a connection's
    responses. A fault that ends the connection settles ``fatal``, which the connection
    waits on beside its reader."""

    request: web.Request
    plan: faults.FaultPlan
    queue: faults.FaultQueue
    out: Outbox
    realtime: Realtime | None = None  # set once built: the hooks are made before it
    fatal: asyncio.Future[Close] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    async def before_response(self, n: int) -> None:
        act = self.plan.at.get(n)
        if act is not None and act.kind == "throttle":
            raise errors.rate_limited()

    async def first_output(self, n: int) -> None:
        if n == 0:
            return
        act = self.plan.at.get(n) or self.queue.struck()
        if act is None:
            return
        if act.kind == "server-error":
            await self.out.send_raw(error_event(errors.server_error()))
            if self.realtime is not None:
                await self.realtime.fail_active()
        elif act.kind == "stall":
            # A stalled connection keeps reading its input but never says another word.
            self.out.silent = True
            await asyncio.Future()
        elif act.kind == "reset":
            with contextlib.suppress(Reset):
                reset(self.request)
            if not self.fatal.done():
                self.fatal.set_exception(Reset())
            await asyncio.Future()
        elif act.kind == "close":
            if not self.fatal.done():
                self.fatal.set_result(Close(act.code or 1011, "fault"))
            await asyncio.Future()


async def _cap(seconds: float) -> None:
    """The session's maximum duration: ``error session_expired``, then a close (reference
    §3.7)."""
    await asyncio.sleep(seconds)
    raise errors.session_expired(seconds)


async def _json_pings(out: Outbox, interval: float) -> None:
    """xAI's keepalive: ``{"type": "ping", "timestamp": ms}`` events (reference §2)."""
    while True:
        await asyncio.sleep(interval)
        await out.send_raw({"type": "ping", "timestamp": int(time.time() * 1000)})


type Handler = Callable[[dict[str, Any]], Awaitable[None]]


async def _read(ws: web.WebSocketResponse, realtime: Realtime, route: Route) -> None:
    handlers: dict[str, Handler] = {
        "session.update": realtime.on_session_update,
        "input_audio_buffer.append": realtime.input.on_append,
        "session.input_audio_buffer.append": realtime.input.on_append,
        "input_audio_buffer.commit": realtime.input.on_commit,
        "input_audio_buffer.clear": realtime.input.on_clear,
        "conversation.item.create": realtime.on_item_create,
        "conversation.item.truncate": realtime.on_item_truncate,
        "conversation.item.delete": realtime.on_item_delete,
        "conversation.item.retrieve": realtime.on_item_retrieve,
        "response.create": realtime.on_response_create,
        "response.cancel": realtime.on_response_cancel,
    }
    out = realtime.out
    while True:
        message = await ws.receive()
        if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return
        client_id: str | None = None
        try:
            if message.type == WSMsgType.BINARY:
                if realtime.config.extra.get("input_transport") == "binary":
                    # xAI's binary transport: the frame is the audio itself (reference §2).
                    await realtime.input.hear(bytes(message.data))
                    continue
                raise ClientError(
                    "Binary frames are not supported; send JSON text events.",
                    code="invalid_event",
                )
            if message.type != WSMsgType.TEXT:
                continue
            try:
                event = json.loads(message.data)
            except ValueError:
                raise ClientError(
                    "We could not parse the JSON body of your request.", code="invalid_json"
                ) from None
            if not isinstance(event, dict):
                raise ClientError("An event is a JSON object.", code="invalid_event")
            if isinstance(event.get("event_id"), str):
                client_id = event["event_id"]
            kind = event.get("type")
            if kind == "session.close":
                raise Close(1000, "session closed")
            handler = handlers.get(kind) if isinstance(kind, str) else None
            if handler is None:
                supported = ", ".join(f"'{name}'" for name in CLIENT_EVENTS)
                raise ClientError(
                    f"Invalid value: '{kind}'. Supported values are: {supported}.",
                    param="type",
                )
            await handler(event)
        except ClientError as error:
            # Non-fatal: the error event, and the session goes on (reference §3.6).
            await out.send_raw(error_event(error, client_id))
