"""Two Bedrock deployments of one model (two regions, as in a LiteLLM config), the first
unreachable: a session fails over to the second when it opens, through the real SDK over
HTTP/2 against the emulator, and what the client sent at once reaches the model."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import yaml
from websockets.asyncio.client import connect

from rtcore_sonic_emulator import NovaSonicEmulator
from tests.bedrock.conftest import V2, emulated_params
from tests.transports.process import Served
from tests.transports.test_operations import sample, scrape
from tests.transports.turns import send_turn, user_turn


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_session_fails_over_to_the_next_region_before_the_client_loses_anything(
    tmp_path: Path, emulator: NovaSonicEmulator
) -> None:
    dead = emulated_params(
        emulator, aws_bedrock_runtime_endpoint=f"https://127.0.0.1:{_closed_port()}"
    )
    live = emulated_params(emulator)
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model_list": [
                    {
                        "model_name": "voice",
                        "litellm_params": {"model": f"bedrock/{V2}", "order": 1, **dead},
                        "model_info": {"id": "us-east-1"},
                    },
                    {
                        "model_name": "voice",
                        "litellm_params": {"model": f"bedrock/{V2}", "order": 2, **live},
                        "model_info": {"id": "us-west-2"},
                    },
                ]
            }
        )
    )
    async with Served("--config", str(config)) as served:
        async with connect(served.url("voice"), proxy=None) as ws:
            # Sent before session.created: held while the session opens (and fails over).
            await send_turn(ws, user_turn("What time is it?"))
            events: list[dict[str, Any]] = []
            async with asyncio.timeout(30):
                while not events or events[-1]["type"] != "response.done":
                    events.append(json.loads(await ws.recv()))
        assert events[0]["type"] == "session.created"
        assert events[-1]["response"]["status"] == "completed", events[-1]
        assert "error" not in [e["type"] for e in events]
        _, text = await scrape(served.port)
        # The failed open is an upstream error; the session's one stream opened on the
        # live region.
        assert sample(text, "rtcore_upstream_errors_total", model="voice") == 1
        assert sample(text, "rtcore_upstream_streams_total", model="voice", reason="opened") == 1
    # The model heard the typed turn, on one stream: the one of the live region.
    heard = [text for stream in emulator.stats.streams for text in stream.said("USER")]
    assert "What time is it?" in heard, heard
    assert emulator.stats.opened == 1
    failover = [line for line in served.lines if "failed to open the session" in line]
    assert len(failover) == 1, served.stderr
    assert "deployment us-east-1 of model 'voice'" in failover[0]
    assert "trying us-west-2" in failover[0]
