"""A WebRTC call's sideband over WebSocket (``/v1/realtime?call_id=``): a server attached
to a live call, with the key that opened it, to control and watch it."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import WSMsgType, web

from rtcore.keys.errors import Refusal
from rtcore_websocket.app_keys import GATEWAY, OPTIONS, SETTINGS
from rtcore_websocket.refusals import refusal, refused_with

log = logging.getLogger(__name__)


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
