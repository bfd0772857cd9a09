"""AWS errors as an OpenAI Realtime client meets them: ``rtcore serve --config`` as a real
subprocess, the Bedrock provider pointed at the local emulator, a real WebSocket client.

Each model of the config meets one error; the client must get an ``error`` event with the
code and a message that says what to do, and the server log must say it too."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from pathlib import Path
from typing import Any

import websockets
import yaml

from rtcore_sonic_emulator import NovaSonicEmulator, utterance_pcm
from tests.transports.process import Served

V1 = "amazon.nova-sonic-v1:0"
V2 = "amazon.nova-2-sonic-v1:0"
FAST = {
    "backoff_initial_seconds": 0.02,
    "max_open_attempts": 2,
    "close_timeout_seconds": 1,
    "throttle_attempts": 2,
    "throttle_backoff_initial_seconds": 0.02,
}


CLOSES: dict[str, tuple[int | None, str]] = {}


async def _error_of(served: Served, model: str) -> dict[str, Any]:
    """Connect, speak one utterance, and return the first ``error`` event (the close code
    and reason that follow go to ``CLOSES``)."""
    async with websockets.connect(served.url(model), open_timeout=10) as ws:
        audio = base64.b64encode(utterance_pcm(0)).decode()
        # Refused at connect, the connection may already be closing: the error is queued.
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
        error: dict[str, Any] | None = None
        # An error close (1011) ends the iteration with ConnectionClosedError.
        with contextlib.suppress(websockets.ConnectionClosed):
            async with asyncio.timeout(15):
                async for frame in ws:
                    event = json.loads(frame)
                    if event["type"] == "error" and error is None:
                        error = event["error"]
        CLOSES[model] = (ws.close_code, ws.close_reason or "")
        if error is not None:
            return error
    raise AssertionError(f"{model}: the connection closed without an error event")


async def test_aws_errors_reach_the_client_as_error_events(tmp_path: Path) -> None:
    async with NovaSonicEmulator(
        cert_dir=tmp_path / "certs", realtime_factor=0.0, legacy_models=True
    ) as emu:
        emulated = {
            "api_base": emu.endpoint,
            "ssl_ca_file": str(emu.ca_file),
            "aws_access_key_id": "AKIDERRORTEST",
            "aws_secret_access_key": "error-test-secret",
            "aws_region_name": "us-east-1",
            **FAST,
        }
        models = {
            "denied": {**emulated, "model": f"bedrock/{V2}~access-denied"},
            "elsewhere": {
                **emulated,
                "model": f"bedrock/{V1}~no-model",
                "aws_region_name": "us-west-2",
            },
            "throttled": {**emulated, "model": f"bedrock/{V2}~throttle"},
            "nocreds": {
                "model": f"bedrock/{V1}",
                "api_base": emu.endpoint,
                "ssl_ca_file": str(emu.ca_file),
                "aws_region_name": "us-east-1",
                "credentials_timeout_seconds": 2,
            },
        }
        # v1 as written (the legacy path), so that its own region list is named.
        legacy = {"use_successor": False}
        config = {
            "model_list": [
                {"model_name": name, "litellm_params": p, "model_info": legacy}
                for name, p in models.items()
            ]
        }
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        home = tmp_path / "home"
        home.mkdir()
        env = {
            "HOME": str(home),
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        }
        async with Served("--config", str(path), env=env) as served:
            denied = await _error_of(served, "denied")
            elsewhere = await _error_of(served, "elsewhere")
            throttled = await _error_of(served, "throttled")
            nocreds = await _error_of(served, "nocreds")
            log = served.stderr

    assert denied["code"] == "access_denied"
    assert "bedrock:InvokeModelWithBidirectionalStream" in denied["message"]

    assert elsewhere["code"] == "model_not_found"
    assert "us-west-2" in elsewhere["message"]
    assert "us-east-1, eu-north-1, ap-northeast-1" in elsewhere["message"]

    assert throttled["code"] == "rate_limit_exceeded"
    assert "throttling" in throttled["message"]

    assert nocreds["code"] == "missing_credentials"
    # The session ended on the upstream's account: 1011 with the code, never a bare 1000.
    for model, code in (("denied", "access_denied"), ("nocreds", "missing_credentials")):
        close_code, close_reason = CLOSES[model]
        assert close_code == 1011, (model, CLOSES[model])
        assert close_reason.startswith(code), (model, CLOSES[model])
    assert CLOSES["throttled"][0] == 1013  # try again later
    assert "AWS_ACCESS_KEY_ID" in nocreds["message"]
    assert "aws configure" in nocreds["message"]

    for code in ("access_denied", "model_not_found", "rate_limit_exceeded"):
        assert any(code in line and "ERROR" in line for line in log.splitlines()), (code, log)
    assert any("nocreds" in line and "AWS_ACCESS_KEY_ID" in line for line in log.splitlines()), log
    assert "Traceback" not in log, log
    assert "error-test-secret" not in log
