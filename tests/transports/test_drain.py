"""Draining on SIGTERM: a real ``rtcore serve`` process, real sockets, a real signal.

The echo model streams slowly here (``chunk_delay_ms``), so a response is still in flight
when the signal arrives.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.transports.process import Served
from tests.transports.test_serve_e2e import TEXT_TURN
from tests.transports.turns import send_turn, user_turn

SLOW_ECHO = (
    "model_list:\n"
    "  - model_name: echo\n"
    "    litellm_params: {model: echo/echo-1, chunk_delay_ms: 150}\n"
)


def _config(tmp_path: Path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(SLOW_ECHO)
    return str(path)


async def _until(ws: ClientConnection, kind: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(20):
        while not events or events[-1]["type"] != kind:
            events.append(json.loads(await ws.recv()))
    return events


async def _rest(ws: ClientConnection) -> tuple[list[dict[str, Any]], int | None]:
    """Every event until the server closes, and its close code."""
    events: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(40):
            while True:
                events.append(json.loads(await ws.recv()))
    except ConnectionClosed as closed:
        return events, closed.rcvd.code if closed.rcvd is not None else None


def _readiness(port: int) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/health/readiness"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


async def test_sigterm_lets_the_response_in_flight_complete_then_closes_1001(
    tmp_path: Path,
) -> None:
    served = Served("--config", _config(tmp_path))
    try:
        assert _readiness(served.port)[0] == 200
        async with connect(served.url(), proxy=None) as ws:
            await _until(ws, "conversation.created")
            await send_turn(ws, TEXT_TURN)
            await _until(ws, "response.text.delta")
            signalled = time.monotonic()
            served.proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            # Draining: the load balancer sees it, and new sessions are turned away...
            status, body = await asyncio.to_thread(_readiness, served.port)
            assert (status, body["status"]) == (503, "draining"), body
            with pytest.raises(InvalidStatus) as refused:
                async with connect(served.url(), proxy=None):
                    pass
            assert refused.value.response.status_code == 503
            # ...while the live one goes on to the end of its response.
            events, code = await _rest(ws)
        kinds = [e["type"] for e in events]
        assert "response.done" in kinds, kinds
        done = events[kinds.index("response.done")]
        assert done["response"]["status"] == "completed", done
        # Then the last word, and "going away".
        assert kinds[-1] == "error", kinds
        assert events[-1]["error"]["code"] == "server_shutting_down"
        assert kinds.index("response.done") < len(kinds) - 1
        assert code == 1001
        assert await asyncio.to_thread(served.proc.wait, 15) == 0
        assert time.monotonic() - signalled < 30
    finally:
        await asyncio.to_thread(served.stop)
    log = served.stderr
    assert "SIGTERM received: draining" in log, log
    assert "stopped by SIGTERM" in log
    assert "Traceback" not in log


async def test_graceful_timeout_bounds_the_wait(tmp_path: Path) -> None:
    served = Served("--config", _config(tmp_path), "--graceful-timeout", "0.5")
    try:
        async with connect(served.url(), proxy=None) as ws:
            await _until(ws, "conversation.created")
            await send_turn(ws, user_turn("Hello! " * 40, ["text"]))
            await _until(ws, "response.text.delta")
            signalled = time.monotonic()
            served.proc.send_signal(signal.SIGTERM)
            events, code = await _rest(ws)
        waited = time.monotonic() - signalled
        assert [e["type"] for e in events][-1] == "error"
        assert events[-1]["error"]["code"] == "server_shutting_down"
        assert "response.done" not in [e["type"] for e in events]
        assert code == 1001
        assert waited < 5, waited
        assert await asyncio.to_thread(served.proc.wait, 15) == 0
    finally:
        await asyncio.to_thread(served.stop)


async def test_a_second_signal_stops_at_once(tmp_path: Path) -> None:
    served = Served("--config", _config(tmp_path))
    try:
        async with connect(served.url(), proxy=None) as ws:
            await _until(ws, "conversation.created")
            await send_turn(ws, user_turn("Hello! " * 200, ["text"]))
            await _until(ws, "response.text.delta")
            served.proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            signalled = time.monotonic()
            served.proc.send_signal(signal.SIGTERM)
            _, code = await _rest(ws)
        assert code == 1001
        assert await asyncio.to_thread(served.proc.wait, 15) == 0
        assert time.monotonic() - signalled < 8
    finally:
        await asyncio.to_thread(served.stop)
