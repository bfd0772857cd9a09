"""What new users get wrong in a Bedrock model's config, told at start: a misspelt region
names itself and the regions there are; an unknown ``litellm_params`` key is warned, with
the key it was probably meant to be; nothing is ignored unheard."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from rtcore.provider import ModelConfig
from rtcore_bedrock_sonic.provider import SonicProvider
from tests.bedrock.conftest import V2
from tests.transports.process import rtcore


def provider(**params: object) -> SonicProvider:
    return SonicProvider(
        ModelConfig(name="voice", provider="bedrock-sonic", model=V2, params=params)
    )


def serve_with(tmp_path: Path, params: dict[str, object], env: dict[str, str] | None = None) -> str:
    config = {
        "model_list": [
            {"model_name": "voice", "litellm_params": {"model": f"bedrock/{V2}", **params}}
        ]
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    result = rtcore("serve", "--config", str(path), "--port", "0", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    return result.stderr


def test_a_misspelt_region_stops_the_start_naming_it_and_the_regions(tmp_path: Path) -> None:
    said = serve_with(tmp_path, {"aws_region_name": "us-est-1"})
    assert "'us-est-1' (litellm_params.aws_region_name) is not an AWS region" in said
    assert "did you mean" in said
    assert "us-east-1" in said
    assert "eu-north-1" in said  # the list of regions
    assert "AWS_IO_DNS" not in said


def test_a_misspelt_region_in_the_environment_too(tmp_path: Path) -> None:
    said = serve_with(tmp_path, {}, env={"AWS_REGION": "eu-nort-1"})
    assert "'eu-nort-1' (AWS_REGION) is not an AWS region; did you mean eu-north-1" in said


def test_a_new_region_in_a_known_area_is_tried_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="rtcore_bedrock_sonic.provider"):
        provider(aws_region_name="ap-southeast-9")
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "'ap-southeast-9'" in warning
    assert "trying it anyway" in warning


@pytest.mark.parametrize(
    ("key", "said"),
    [
        (
            "aws_regin_name",
            "is not an option of the Bedrock provider and is ignored; did you "
            "mean aws_region_name?",
        ),
        ("rotate_after_secs", "did you mean rotate_after_seconds?"),
        ("rpm", "is a LiteLLM setting rtcore does not use; it is ignored"),
        ("aws_role_nam", "did you mean aws_role_name?"),
        ("frobnicate", "is not an option of the Bedrock provider and is ignored"),
    ],
)
def test_unknown_params_are_warned(caplog: pytest.LogCaptureFixture, key: str, said: str) -> None:
    with caplog.at_level(logging.WARNING, logger="rtcore_bedrock_sonic.provider"):
        provider(aws_region_name="us-east-1", **{key: "x"})
    (warning,) = [r.getMessage() for r in caplog.records]
    assert warning.startswith(f"model 'voice': litellm_params.{key} ")
    assert said in warning


def test_the_options_it_reads_are_not_warned(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="rtcore_bedrock_sonic.provider"):
        provider(
            aws_region_name="us-east-1",
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret",
            api_base="https://localhost:1",
            ssl_ca_file="/dev/null",
            rotate_after_seconds=100,
            audio_coalesce_ms=40,
        )
    assert caplog.records == []
