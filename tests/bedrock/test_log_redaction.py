"""Every credential the process uses is masked in every log line, wherever it came from:
here the environment, with debug logging on (the AWS SDK's debug lines print signed
requests, tokens and key ids included)."""

from __future__ import annotations

from pathlib import Path

import yaml

from rtcore_sonic_emulator import NovaSonicEmulator
from tests.bedrock.conftest import V2
from tests.bedrock.socket_turn import typed_turn
from tests.transports.process import Served

ENV_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIDFROMTHEENVIRONMENT",
    "AWS_SECRET_ACCESS_KEY": "secret-from-the-environment-1234",
    "AWS_SESSION_TOKEN": "session-token-from-the-environment-5678",
}


async def test_environment_credentials_never_reach_the_log(tmp_path: Path) -> None:
    async with NovaSonicEmulator(cert_dir=tmp_path / "certs", realtime_factor=0.0) as emu:
        params = {
            "model": f"bedrock/{V2}",
            "api_base": emu.endpoint,
            "ssl_ca_file": str(emu.ca_file),
            "aws_region_name": "us-east-1",
        }
        path = tmp_path / "config.yaml"
        path.write_text(
            yaml.safe_dump({"model_list": [{"model_name": "voice", "litellm_params": params}]})
        )
        async with Served(
            "--config", str(path), "--log-level", "debug", env=ENV_CREDENTIALS
        ) as served:
            await typed_turn(served.url("voice"), "Hello", until_close=False)
    log = served.stderr
    assert emu.stats.signed_by == ["AKIDFROMTHEENVIRONMENT"]  # they were used
    assert "[REDACTED]" in log  # and the SDK did log them, masked
    for value in ENV_CREDENTIALS.values():
        assert value not in log
