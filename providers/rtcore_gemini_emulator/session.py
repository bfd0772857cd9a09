"""One ``BidiGenerateContent`` WebSocket: the route, authentication, setup, the input loop,
faults and the connection's and session's lifetimes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from rtcore_emulated_speech.script import Script
from rtcore_emulator_kit.web import Reset, reset, until_one_ends

from . import faults, output
from .conversation import Conversation
from .errors import (
    BAD_API_KEY,
    DEADLINE,
    UNAUTHENTICATED,
    Close,
    invalid,
    model_not_found,
    publisher_model_not_found,
)
from .keys import camel
from .models import GEMINI, VERTEX, Resolved, resolve
from .probe import AudioProbe
from .resumption import HandleStore, SessionState, session_id
from .setup import parse as parse_setup
from .stats import Closed, SetupReceived, Stats
from .tokens import TokenIssuer

log = logging.getLogger(__name__)

GEMINI_PATH = re.compile(
    r"^/ws/google\.ai\.generativelanguage\.(?P<version>v1|v1beta|v1alpha)\.GenerativeService\."
    r"(?P<method>BidiGenerateContent|BidiGenerateContentConstrained)$"
)
VERTEX_PATH = re.compile(
    r"^/ws/google\.cloud\.aiplatform\.(?P<version>v1beta1|v1)\.LlmBidiService/BidiGenerateContent$"
)
FAULT_HEADER = "x-rtcore-emulator-faults"
CLIENT_MESSAGES = ("setup", "clientContent", "realtimeInput", "toolResponse", "contextUpdate")
# How long a connection may wait for its setup before it is closed.
SETUP_TIMEOUT = 30.0
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


@dataclass
class Settings:
    realtime_factor: float
    connection_lifetime: float
    go_away_notice: float
    session_lifetime: float
    script: Script
    faults: faults.FaultQueue
    tokens: TokenIssuer
    handles: HandleStore
    always_faults: list[str] = field(default_factory=list)
    # API keys refused with 1007 "API key not valid..."; when ``api_keys`` is set, only those
    # keys are accepted.
    rejected_keys: set[str] = field(default_factory=set)
    api_keys: set[str] | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    probe: AudioProbe | None = None
    # Model ids shut down since the emulator started: their setups are refused as unknown.
    retired: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Route:
    backend: str
    version: str
    constrained: bool


def route_of(path: str) -> Route | None:
    if match := GEMINI_PATH.match(path):
        constrained = match.group("method") == "BidiGenerateContentConstrained"
        return Route(GEMINI, match.group("version"), constrained)
    if match := VERTEX_PATH.match(path):
        return Route(VERTEX, match.group("version"), False)
    return None


def _unauthenticated() -> web.Response:
    body = {"error": {"code": 401, "message": UNAUTHENTICATED, "status": "UNAUTHENTICATED"}}
    return web.json_response(body, status=401)


def _bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _api_key(request: web.Request) -> str | None:
    return request.headers.get("x-goog-api-key") or request.query.get("key")


async def handle(request: web.Request, settings: Settings, stats: Stats) -> web.StreamResponse:
    route = route_of(request.path)
    if route is None:
        return web.json_response(
            {
                "error": {
                    "code": 404,
                    "message": f"No route for {request.path}.",
                    "status": "NOT_FOUND",
                }
            },
            status=404,
        )
    key_error = False
    if route.backend == VERTEX and _api_key(request) is None:
        # Vertex takes an OAuth 2 access token (reference §1); one not issued here is refused
        # at the upgrade, as Google answers UNAUTHENTICATED (HTTP 401).
        if not settings.tokens.valid(_bearer(request)):
            stats.refused += 1
            return _unauthenticated()
    elif route.constrained:
        token = request.headers.get("authorization", "").removeprefix("Token ").strip()
        token = token or request.query.get("access_token", "")
        key_error = not token.startswith("auth_tokens/")
    else:
        key = _api_key(request)
        key_error = (
            not key
            or key in settings.rejected_keys
            or (settings.api_keys is not None and key not in settings.api_keys)
        )
    ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, autoping=True)
    await ws.prepare(request)
    stats.connections += 1
    stats.active += 1
    number = stats.connections
    try:
        await _serve(request, ws, route, key_error, number, settings, stats)
    except Close as close:
        stats.closes.append(Closed(number, close.code, close.reason))
        if close.detail:
            log.info("connection %d closed %d: %s", number, close.code, close.detail)
        with contextlib.suppress(ConnectionError):
            await ws.close(code=close.code, message=close.wire_reason.encode())
    except Reset:
        pass
    finally:
        stats.active -= 1
    return ws


async def _read_message(ws: web.WebSocketResponse) -> dict[str, Any] | None:
    """The next client message as ``{lowerCamelName: body}``, or None once the client has
    gone."""
    message = await ws.receive()
    if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
        return None
    if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
        raise invalid("unexpected frame")
    try:
        data = json.loads(message.data)
    except (ValueError, UnicodeDecodeError):
        raise invalid("a message is one JSON object") from None
    if not isinstance(data, dict) or len(data) != 1:
        raise invalid("a message has exactly one field")
    (key, body), *_ = data.items()
    name = camel(key)
    if name not in CLIENT_MESSAGES:
        raise invalid(f"unknown message {key!r}")
    return {name: body}


async def _serve(
    request: web.Request,
    ws: web.WebSocketResponse,
    route: Route,
    key_error: bool,
    number: int,
    settings: Settings,
    stats: Stats,
) -> None:
    opened = time.monotonic()
    body = await _read_setup(ws, number, stats)
    if body is None:
        return
    if key_error:
        # The service reads the setup, then closes (reference §8: "sent after upgrade").
        raise Close(1007, BAD_API_KEY)
    resolved = _resolve_model(body, route, settings)
    setup = parse_setup(body, route.backend, resolved.model)
    plan = _fault_plan(request, resolved, settings)
    state = _session_state(setup.resume_handle, resolved.model.id, settings, stats)
    lifetime = plan.lifetime if plan.lifetime is not None else settings.connection_lifetime
    session_end = None if setup.compression else state.lineage.started + settings.session_lifetime
    if session_end is not None and session_end <= time.monotonic():
        state.lineage.ended = True
        raise invalid("the session has outlived its lifetime")
    if (action := plan.at_setup) is not None:
        _act_now(request, action)
    out = output.Outbox(ws)
    await out.send(output.setup_complete(session_id()))
    turn_faults = _TurnFaults(request, plan, settings.faults, out)
    conversation = Conversation(
        setup=setup,
        model=resolved.model,
        state=state,
        out=out,
        script=settings.script,
        stats=stats,
        handles=settings.handles,
        connection=number,
        vertex=route.backend == VERTEX,
        realtime_factor=lambda: settings.realtime_factor,
        first_output=turn_faults.first_output,
        probe=settings.probe,
        taken=turn_faults.taken,
    )
    deadline = _deadline(out, opened + lifetime, session_end, settings.go_away_notice, state)
    try:
        jobs = (_read(ws, conversation), conversation.run(), deadline)
        await until_one_ends([asyncio.create_task(job) for job in jobs])
    finally:
        settings.handles.connection_ended(state)


async def _read_setup(ws: web.WebSocketResponse, number: int, stats: Stats) -> Any | None:
    """The body of the connection's first message, which must be its setup (recorded as
    received, valid or not); None when the client left first."""
    try:
        async with asyncio.timeout(SETUP_TIMEOUT):
            first = await _read_message(ws)
    except TimeoutError:
        raise invalid("no setup in time") from None
    if first is None:
        return None
    if "setup" not in first:
        raise invalid("the first message must be setup")
    body = first["setup"]
    if isinstance(body, dict):
        stats.setups.append(SetupReceived(number, str(body.get("model")), body))
    return body


def _resolve_model(body: Any, route: Route, settings: Settings) -> Resolved:
    """The model the setup names, refused in the backend's words once it is retired."""
    setup = parse_setup(body, route.backend)
    resolved = resolve(route.backend, setup.model_name, route.version, settings.aliases)
    if resolved.model.id in settings.retired:
        raise (
            publisher_model_not_found(resolved.name)
            if route.backend == VERTEX
            else model_not_found(resolved.name, route.version)
        )
    return resolved


def _fault_plan(request: web.Request, resolved: Resolved, settings: Settings) -> faults.FaultPlan:
    """Faults from every source: the emulator's own, the model id's, the header's and the
    queue's; a bad spec is the client's error."""
    specs = [
        *settings.always_faults,
        *resolved.fault_specs,
        *request.headers.get(FAULT_HEADER, "").split(","),
        *settings.faults.take(),
    ]
    try:
        return faults.parse(specs)
    except faults.FaultSpecError as error:
        raise invalid(str(error)) from None


@dataclass(frozen=True, slots=True)
class _TurnFaults:
    """Where the fault plan (and the queue's struck faults) reach into a conversation's
    turns."""

    request: web.Request
    plan: faults.FaultPlan
    queue: faults.FaultQueue
    out: output.Outbox

    async def taken(self, turn: int) -> None:
        action = self.plan.at_turn.get(turn) or self.queue.struck(answering=False)
        if action is not None and action.kind == "mute":
            # The turn was heard; no answer, nor anything else, ever follows.
            self.out.silent = True
            await asyncio.Future()

    async def first_output(self, turn: int) -> None:
        if turn == 0:
            return
        action = self.plan.at_turn.get(turn) or self.queue.struck()
        if action is None or action.kind == "mute":
            return
        if action.kind == "stall":
            # A stalled connection keeps reading its input but never says another word.
            self.out.silent = True
            await asyncio.Future()
        _act_now(self.request, action)


def _act_now(request: web.Request, action: faults.Action) -> None:
    if action.close is not None:
        raise action.close
    if action.kind == "reset":
        reset(request)


def _session_state(
    handle: str | None, model_id: str, settings: Settings, stats: Stats
) -> SessionState:
    if handle is None:
        return SessionState(model_id)
    state = settings.handles.resume(handle)
    # An unknown, expired or ended session's handle, or a new model: the model cannot change
    # on resumption (reference §4.5).
    if state is None or state.model_id != model_id:
        raise invalid("session resumption handle not valid for this setup")
    stats.resumptions += 1
    return state


async def _read(ws: web.WebSocketResponse, conversation: Conversation) -> None:
    while True:
        message = await _read_message(ws)
        if message is None:
            return
        ((name, body),) = message.items()
        if name == "setup":
            raise invalid("a second setup")  # reference §0.4
        if name == "clientContent":
            conversation.on_client_content(body)
        elif name == "realtimeInput":
            conversation.on_realtime_input(body)
        elif name == "toolResponse":
            conversation.on_tool_response(body)
        else:
            conversation.on_context_update(body)


async def _deadline(
    out: output.Outbox,
    connection_end: float,
    session_end: float | None,
    notice: float,
    state: SessionState,
) -> None:
    """``goAway {timeLeft}`` ``notice`` seconds before the connection (or, without
    contextWindowCompression, the session) ends, then 1011 "Deadline expired..." (reference
    §4.5, §7)."""
    end = connection_end if session_end is None else min(connection_end, session_end)
    warn_at = end - notice
    if notice > 0:
        await asyncio.sleep(max(0.0, warn_at - time.monotonic()))
        await out.send(output.go_away(end - time.monotonic()))
    await asyncio.sleep(max(0.0, end - time.monotonic()))
    if session_end is not None and session_end <= connection_end:
        # After the cap the session's handles no longer resume it (D/186392: 1007).
        state.lineage.ended = True
    raise Close(1011, DEADLINE)
