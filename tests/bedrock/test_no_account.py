"""A start with no AWS account set up (no region, no credentials) and no ``--emulator``:
the server runs, and one WARNING says that no session will be served and what to do
(configure AWS, or serve the bundled emulator with ``--emulator``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.bedrock.test_readiness import bare_env
from tests.transports.process import Served

CANNOT = "cannot serve sessions yet"


async def warning_of(served: Served) -> list[str]:
    # The warm-up runs after the port opens: wait for its verdict.
    async with asyncio.timeout(30):
        while not any(CANNOT in line for line in served.lines):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return [line for line in served.lines if CANNOT in line]


@pytest.mark.parametrize(
    ("extra", "cause"),
    [
        ({}, "No AWS region configured"),
        ({"AWS_REGION": "us-east-1"}, "No usable AWS credentials found"),
    ],
)
async def test_provider_flag_without_aws_says_what_to_do(
    tmp_path: Path, extra: dict[str, str], cause: str
) -> None:
    env = {**bare_env(tmp_path), **extra}
    async with Served("--provider", "bedrock-sonic", env=env) as served:
        (line,) = await warning_of(served)
    assert " WARNING " in line
    # One line for every model the provider offers: one cause, said once.
    assert (
        "models 'bedrock-sonic', 'amazon.nova-sonic-v1:0', 'amazon.nova-2-sonic-v1:0', "
        "'amazon.nova-2-5-sonic'" in line
    )
    assert cause in line, line
    if not extra:
        assert "Nova 2.5 Sonic runs in us-east-1, us-west-2, eu-north-1 and ap-northeast-1" in line
    assert "aws configure" in line or "AWS_REGION" in line
    assert "add --emulator to rtcore serve" in line
    assert "Traceback" not in served.stderr


async def test_a_config_without_credentials_names_its_model(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "model_list:\n- model_name: voice\n  litellm_params:\n"
        "    model: bedrock/amazon.nova-2-sonic-v1:0\n    aws_region_name: us-east-1\n"
        "    credentials_timeout_seconds: 2\n"
    )
    async with Served("--config", str(config), env=bare_env(tmp_path)) as served:
        (line,) = await warning_of(served)
    assert " WARNING " in line
    assert "model 'voice' cannot serve sessions yet" in line
    assert "add --emulator to rtcore serve" in line
