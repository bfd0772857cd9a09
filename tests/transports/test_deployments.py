"""Several deployments under one model_name, as LiteLLM configs have them (regions): a
session is routed to one when it opens and fails over to the next when it cannot open.
Real ``rtcore serve`` processes with the echo plugin; the Bedrock case is in
tests/bedrock/test_deployments.py."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from websockets.asyncio.client import connect

from tests.transports.process import Served
from tests.transports.test_serve_e2e import streamed_text, text_turn


def write_config(tmp_path: Path, entries: list[dict[str, Any]], **sections: Any) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"model_list": entries, **sections}))
    return str(path)


def echo(order: int | None = None, ident: str | None = None, **params: Any) -> dict[str, Any]:
    litellm: dict[str, Any] = {"model": "echo/echo-1", **params}
    if order is not None:
        litellm["order"] = order
    entry: dict[str, Any] = {"model_name": "voice", "litellm_params": litellm}
    if ident is not None:
        entry["model_info"] = {"id": ident}
    return entry


def served_by(log: Path) -> list[str]:
    return [json.loads(line)["deployment"] for line in log.read_text().splitlines()]


def _records(log: Path, count: int) -> list[str]:
    """The deployments that served each session, once ``count`` sessions are recorded
    (a session is recorded as it finishes closing, just after its client is done)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if log.exists() and len(log.read_text().splitlines()) >= count:
            return served_by(log)
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} sessions recorded")


async def until_records(log: Path, count: int) -> list[str]:
    return await asyncio.to_thread(_records, log, count)


async def test_a_deployment_that_cannot_open_fails_over_and_cools_down(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        [
            echo(order=1, ident="us-east-1", unavailable="us-east-1 is down"),
            echo(order=2, ident="us-west-2"),
        ],
        router_settings={"cooldown_time": 30},
    )
    log = tmp_path / "sessions.jsonl"
    async with Served("--config", config, env={"RTCORE_ECHO_SESSION_LOG": str(log)}) as served:
        for _ in range(3):
            events = await text_turn(served.url("voice"))
            assert events[0]["type"] == "session.created"
            assert streamed_text(events) == "You said: Hello!"
        assert await until_records(log, 3) == ["us-west-2"] * 3
    failovers = [line for line in served.lines if "failed to open the session" in line]
    # Tried first by its order once; then passed over while it cools down.
    assert len(failovers) == 1, served.stderr
    assert "deployment us-east-1 of model 'voice'" in failovers[0]
    assert "us-east-1 is down" in failovers[0]
    assert "trying us-west-2" in failovers[0]


async def test_simple_shuffle_spreads_sessions_over_deployments(tmp_path: Path) -> None:
    config = write_config(tmp_path, [echo(ident="a"), echo(ident="b")])
    log = tmp_path / "sessions.jsonl"
    async with Served("--config", config, env={"RTCORE_ECHO_SESSION_LOG": str(log)}) as served:
        for _ in range(16):
            await text_turn(served.url("voice"))
        counts = Counter(await until_records(log, 16))
    # All 16 on one of two at random: 1 in 32,768.
    assert set(counts) == {"a", "b"}, counts


async def test_least_busy_puts_concurrent_sessions_on_different_deployments(
    tmp_path: Path,
) -> None:
    config = write_config(
        tmp_path,
        [echo(ident="a"), echo(ident="b")],
        router_settings={"routing_strategy": "least-busy"},
    )
    log = tmp_path / "sessions.jsonl"
    async with Served("--config", config, env={"RTCORE_ECHO_SESSION_LOG": str(log)}) as served:
        for batch in range(3):
            async with (
                connect(served.url("voice"), proxy=None) as first,
                connect(served.url("voice"), proxy=None) as second,
            ):
                await first.recv()
                await second.recv()
            # The batch's sessions are over on the server's side too (each is logged as it
            # ends) before the next batch opens: a session still closing is still busy.
            pairs = await until_records(log, 2 * (batch + 1))
    for index in range(0, 6, 2):
        assert set(pairs[index : index + 2]) == {"a", "b"}, pairs


async def test_settings_that_do_not_apply_are_warned_not_dropped(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        [echo(ident="a"), echo(ident="b")],
        router_settings={
            "routing_strategy": "latency-based-routing",
            "redis_host": "redis.internal",
            "num_retries": 1,
        },
        litellm_settings={"drop_params": True, "callbacks": ["prometheus"], "json_logs": False},
    )
    async with Served("--config", config) as served:
        assert (await text_turn(served.url("voice")))[-1]["type"] == "response.done"
    log = served.stderr
    assert "router_settings.routing_strategy 'latency-based-routing' weighs single requests" in (
        log
    )
    # Each warning lists exactly what it ignores: what applies is not in the list.
    assert "config.yaml: router_settings redis_host: rtcore routes" in log, log
    assert "config.yaml: litellm_settings drop_params: they configure" in log, log
    assert "callbacks" not in log
    assert "ignoring sections" not in log
