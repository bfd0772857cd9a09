"""LiteLLM's CLI spellings work on ``rtcore serve``: ``-c`` for the config file,
``--num_workers`` for the worker count, ``--detailed_debug`` for debug logs."""

from __future__ import annotations

import json
from pathlib import Path

from websockets.asyncio.client import connect

from tests.config.test_config import SEED_CONFIG
from tests.transports.process import Served


async def test_litellm_spellings_serve_as_rtcores_do(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(SEED_CONFIG)
    async with (
        Served("-c", str(config), "--num_workers", "2", "--detailed_debug", "--emulator") as served,
        connect(served.url("bedrock-sonic")) as ws,
    ):
        assert json.loads(await ws.recv())["type"] == "session.created"
    # Two workers, each tagging its lines with its pid, and debug lines among them.
    pids = {
        line.split("[worker ", 1)[1].split("]", 1)[0] for line in served.lines if "[worker " in line
    }
    assert len(pids) == 2, served.stderr
    assert any(" DEBUG " in line for line in served.lines), served.stderr
