"""Bedrock throttling at open: retried with a longer, jittered backoff than a broken
connection gets; past it the client hears rate_limit_exceeded with retry advice and the
socket closes 1013 (try again later), not 1000 after two seconds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rtcore.provider import messages as n
from rtcore_sonic_emulator import NovaSonicEmulator
from tests.bedrock.conftest import V2
from tests.bedrock.socket_turn import typed_turn
from tests.transports.process import Served

QUICK = {"throttle_backoff_initial_seconds": 0.05, "throttle_backoff_max_seconds": 0.2}


async def test_a_throttled_open_is_retried_until_it_goes_through(
    emulator: NovaSonicEmulator, open_driver: Any
) -> None:
    emulator.inject("throttle", connections=4)  # more than max_open_attempts (4)
    driver = await open_driver(V2, **QUICK)
    await driver.send(
        n.AddItem(item=n.Message(id="i1", role="user", text="Hello!")),
        n.CreateResponse(response_id="resp_1"),
    )
    (done,) = await driver.wait_done(1, within=15)
    assert done.status == "completed"
    assert emulator.stats.errors["ThrottlingException"] == 4


async def test_still_throttled_the_client_hears_it_and_the_close_says_try_later(
    tmp_path: Path,
) -> None:
    async with NovaSonicEmulator(cert_dir=tmp_path / "certs", realtime_factor=0.0) as emu:
        emu.inject("throttle", connections=50)
        params = {
            "model": f"bedrock/{V2}",
            "api_base": emu.endpoint,
            "ssl_ca_file": str(emu.ca_file),
            "aws_access_key_id": "AKIDTHROTTLE",
            "aws_secret_access_key": "throttle-secret",
            "aws_region_name": "us-east-1",
            "throttle_attempts": 3,
            **QUICK,
        }
        path = tmp_path / "config.yaml"
        entry = {"model_name": "voice", "litellm_params": params}
        path.write_text(yaml.safe_dump({"model_list": [entry]}))
        async with Served("--config", str(path)) as served:
            turn = await typed_turn(served.url("voice"))
    (error,) = turn.errors()
    assert error["code"] == "rate_limit_exceeded"
    assert "still throttled after 3 attempts" in error["message"]
    assert "retry" in error["message"]
    assert turn.close_code == 1013
    assert emu.stats.errors["ThrottlingException"] == 3
