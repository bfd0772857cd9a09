"""LiteLLM's per-deployment limits on a realtime entry, applied to sessions: ``rpm``
(sessions opened per minute), ``max_parallel_requests`` (sessions at once) and ``timeout``
(how long opening one may take). A real ``rtcore serve`` with the echo plugin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.transports.process import Served
from tests.transports.test_deployments import echo, until_records, write_config


async def refusal(url: str) -> tuple[int, dict[str, object]]:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url):
            pass
    response = refused.value.response
    return response.status_code, json.loads(response.body or b"{}")


async def opened(ws: object) -> str:
    return str(json.loads(await ws.recv())["type"])  # type: ignore[attr-defined]


async def test_max_parallel_requests_bounds_the_sessions_at_once(tmp_path: Path) -> None:
    config = write_config(tmp_path, [echo(max_parallel_requests=1)])
    async with Served("--config", config) as served:
        async with connect(served.url("voice")) as first:
            assert await opened(first) == "session.created"
            status, body = await refusal(served.url("voice"))
            assert status == 429
            error = body["error"]
            assert isinstance(error, dict)
            assert error["code"] == "rate_limit_exceeded"
            assert "max_parallel_requests" in str(error["message"])
        # The first one closed: there is room again (once its close is counted).
        for _ in range(50):
            try:
                async with connect(served.url("voice")) as again:
                    assert await opened(again) == "session.created"
                break
            except InvalidStatus:
                continue
        else:
            raise AssertionError("no room after the first session closed")


async def test_rpm_bounds_the_sessions_opened_per_minute(tmp_path: Path) -> None:
    config = write_config(tmp_path, [echo(rpm=2)])
    async with Served("--config", config) as served:
        for _ in range(2):
            async with connect(served.url("voice")) as ws:
                assert await opened(ws) == "session.created"
        status, _ = await refusal(served.url("voice"))
        assert status == 429


async def test_a_deployment_at_its_limit_leaves_the_session_to_the_next(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        [echo(order=1, ident="small", max_parallel_requests=1), echo(order=2, ident="big")],
    )
    log = tmp_path / "sessions.jsonl"
    async with Served("--config", config, env={"RTCORE_ECHO_SESSION_LOG": str(log)}) as served:
        async with connect(served.url("voice")) as first:
            assert await opened(first) == "session.created"
            async with connect(served.url("voice")) as second:
                assert await opened(second) == "session.created"
        # The second closed first: it was the one the full deployment passed on.
        assert await until_records(log, 2) == ["big", "small"]


async def test_an_open_slower_than_the_timeout_fails_over(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        [
            echo(order=1, ident="slow", open_delay_ms=5000, timeout=0.3),
            echo(order=2, ident="quick"),
        ],
    )
    async with Served("--config", config) as served, connect(served.url("voice")) as ws:
        assert await opened(ws) == "session.created"
    failover = [line for line in served.lines if "failed to open the session" in line]
    assert len(failover) == 1, served.stderr
    assert "deployment slow" in failover[0]
    assert "timeout" in failover[0]
