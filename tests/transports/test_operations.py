"""What an operator reads from a running ``rtcore serve``: ``/metrics`` and the log, JSON
lines included. Real processes, real sockets."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.transports.process import Served
from tests.transports.test_workers import _pids_answering
from tests.transports.turns import run_turn, user_turn

AUDIO_TURN = user_turn(modalities=["audio", "text"])


async def audio_turn(url: str, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return await run_turn(url, AUDIO_TURN, headers, within=20)


async def scrape(port: int, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics", headers=headers) as answer,
    ):
        return answer.status, await answer.text()


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    return 0.0


async def settled_metrics(port: int, name: str, want: float, **labels: str) -> str:
    """Sessions are counted as they finish closing, just after the client sees the close."""
    async with asyncio.timeout(10):
        while True:
            _, text = await scrape(port)
            if sample(text, name, **labels) >= want:
                return text
            await asyncio.sleep(0.05)


async def test_metrics_count_sessions_audio_responses_and_refusals() -> None:
    async with Served("--provider", "echo") as served:
        _, before = await scrape(served.port)
        assert sample(before, "rtcore_sessions_total", model="echo") == 0
        for _ in range(2):
            events = await audio_turn(served.url())
            assert events[-1]["response"]["status"] == "completed"
        with pytest.raises(InvalidStatus):
            async with connect(served.url("nope"), proxy=None):
                pass
        text = await settled_metrics(
            served.port, "rtcore_sessions_total", 2, model="echo", end_reason="client_closed"
        )
        assert sample(text, "rtcore_sessions_active", model="echo") == 0
        assert sample(text, "rtcore_responses_total", model="echo", status="completed") == 2
        assert sample(text, "rtcore_session_duration_seconds_count", model="echo") == 2
        # The echo model's reply tone: some audio out, none in (typed turns).
        assert sample(text, "rtcore_audio_seconds_total", model="echo", direction="out") > 0.1
        assert sample(text, "rtcore_audio_seconds_total", model="echo", direction="in") == 0
        # Time to first audio, from response.create: one per turn.
        assert sample(text, "rtcore_time_to_first_audio_seconds_count", model="echo") == 2
        assert sample(text, "rtcore_refusals_total", code="model_not_found") == 1
        # While a session is open it is active.
        async with connect(served.url(), proxy=None) as ws:
            await ws.recv()
            _, live = await scrape(served.port)
            assert sample(live, "rtcore_sessions_active", model="echo") == 1


async def test_metrics_behind_the_master_key_when_asked() -> None:
    env = {"RTCORE_MASTER_KEY": "sk-metrics-test"}
    async with Served("--provider", "echo", "--metrics-require-key", env=env) as served:
        assert (await scrape(served.port))[0] == 401
        status, text = await scrape(served.port, {"Authorization": "Bearer sk-metrics-test"})
        assert status == 200
        assert "rtcore_sessions_active" in text
    async with Served("--provider", "echo", env=env) as served:
        assert (await scrape(served.port))[0] == 200  # open unless asked


async def test_json_logs_name_the_session_on_every_line_about_it(tmp_path: Path) -> None:
    async with Served("--provider", "echo", "--log-format", "json") as served:
        events = await audio_turn(served.url())
        session_id = events[0]["session"]["id"]
        with pytest.raises(InvalidStatus):
            async with connect(served.url("nope"), proxy=None):
                pass
        await settled_metrics(served.port, "rtcore_sessions_total", 1, model="echo")
    lines = [json.loads(line) for line in served.lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    about = [line for line in lines if line.get("session_id") == session_id]
    messages = [line["message"] for line in about]
    assert any(m.startswith("session opened: model echo") for m in messages), messages
    assert any(m.startswith("session ended (client_closed)") for m in messages), messages
    assert all(line["model"] == "echo" for line in about)
    # The access log: the session's upgrade (101, once it ended) and the refusal.
    access = [line for line in lines if line["logger"] == "rtcore.access"]
    statuses = {(line["http"]["status"], line["http"]["error_code"]) for line in access}
    assert (101, None) in statuses, access
    assert (404, "model_not_found") in statuses, access
    assert all(line["http"]["path"] == "/v1/realtime" for line in access)


async def test_text_logs_tag_session_lines() -> None:
    async with Served("--provider", "echo") as served:
        events = await audio_turn(served.url())
        await settled_metrics(served.port, "rtcore_sessions_total", 1, model="echo")
    session_id = events[0]["session"]["id"]
    tagged = [line for line in served.lines if f"[{session_id} model=echo]" in line]
    assert any("session opened" in line for line in tagged), served.stderr
    assert any("session ended" in line for line in tagged), served.stderr
    assert re.search(r'rtcore\.access: \S+ "GET /v1/realtime\?model=echo" 101 ', served.stderr)


async def test_workers_report_the_whole_server() -> None:
    async with Served("--provider", "echo", "--workers", "2") as served:
        assert len(_pids_answering(served.port, 2)) == 2
        for _ in range(6):  # spread over both workers by the kernel
            await audio_turn(served.url())
        # Whichever worker answers the scrape reports every worker's sessions.
        for _ in range(4):
            text = await settled_metrics(served.port, "rtcore_sessions_total", 6, model="echo")
            assert sample(text, "rtcore_sessions_total", model="echo") == 6


async def test_a_plugin_serves_its_own_http_endpoint() -> None:
    """``rtcore_http_routes``: the echo plugin (third-party, installed by entry point) adds
    ``GET /echo/live`` to the server, which counts the live sessions."""
    async with Served("--provider", "echo") as served:
        url = f"http://127.0.0.1:{served.port}/echo/live"
        async with connect(served.url(), proxy=None) as ws:
            await ws.recv()
            async with aiohttp.ClientSession() as http, http.get(url) as answer:
                assert answer.status == 200
                assert (await answer.json()) == {"live_sessions": 1, "peer": "127.0.0.1"}
