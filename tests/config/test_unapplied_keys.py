"""Every key of a config file that rtcore does not apply is named at start, in every
section, with the key it was probably meant to be; a misspelt master key stops the start
instead of leaving the server keyless."""

from __future__ import annotations

import logging
from pathlib import Path

import msgspec
import pytest

from rtcore.config import ConfigError, load_config
from tests.config.test_config import ECHO, SEED_CONFIG, SONIC, write
from tests.transports.process import rtcore

# The Bedrock provider says which model_info keys it reads; the echo one does not.
PROVIDERS = {
    "bedrock-sonic": msgspec.structs.replace(
        SONIC, model_info_keys=("use_successor", "base_model")
    ),
    "echo": ECHO,
}


def warnings_for(tmp_path: Path, text: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    with caplog.at_level(logging.INFO):
        load_config(write(tmp_path, text), PROVIDERS)
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def error_for(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), PROVIDERS)
    return info.value


def test_the_seed_config_names_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert warnings_for(tmp_path, SEED_CONFIG, caplog) == []


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("general_settings:\n  master_kye: sk-1234\n", "general_settings.master_kye"),
        ("general_settings:\n  masterkey: sk-1234\n", "general_settings.masterkey"),
        ("general_settings:\n  MASTER_KEY: sk-1234\n", "general_settings.MASTER_KEY"),
        ("general_setings:\n  master_key: sk-1234\n", "general_setings"),
        ("general_setting:\n  master_kye: sk-1234\n", "general_setting"),
    ],
)
def test_a_misspelt_master_key_stops_the_start(tmp_path: Path, section: str, key: str) -> None:
    error = error_for(tmp_path, SEED_CONFIG + section)
    assert error.key == key
    assert "did you mean" in error.problem
    assert "refusing to start without the master key" in error.problem


def test_a_misspelt_master_key_is_an_error_from_the_command_line(tmp_path: Path) -> None:
    config = write(tmp_path, SEED_CONFIG + "general_settings:\n  master_kye: sk-1234\n")
    result = rtcore("serve", "--config", str(config), "--port", "0")
    assert result.returncode == 2
    assert result.stderr == (
        f"rtcore serve: error: {config}: general_settings.master_kye: not a setting rtcore "
        "knows; did you mean master_key? (refusing to start without the master key this "
        "file appears to set)\n"
    )
    assert "sk-1234" not in result.stderr


def test_a_correct_master_key_next_to_a_similar_key_is_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = SEED_CONFIG + "general_settings:\n  master_key: sk-1234\n  master_kye: sk-9\n"
    warned = warnings_for(tmp_path, text, caplog)
    assert any("general_settings.master_kye is not a setting" in w for w in warned), warned


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (
            "model_list:\n- model_name: a\n  litelm_params: {model: echo/echo-1}\n",
            "model_list[0].litellm_params",
            "missing (found 'litelm_params': did you mean litellm_params?)",
        ),
        (
            "model_list:\n- modelname: a\n  litellm_params: {model: echo/echo-1}\n",
            "model_list[0].model_name",
            "missing (found 'modelname': did you mean model_name?)",
        ),
        (
            "model_list:\n- model_name: a\n  litellm_params: {modle: echo/echo-1}\n",
            "model_list[0].litellm_params.model",
            "missing (found 'modle': did you mean model?)",
        ),
        (
            "modle_list:\n- model_name: a\n  litellm_params: {model: echo/echo-1}\n",
            "model_list",
            "got nothing (null) (found 'modle_list': did you mean model_list?)",
        ),
    ],
)
def test_a_missing_key_names_its_misspelling(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    error = error_for(tmp_path, text)
    assert error.key == key
    assert problem in error.problem


def test_every_section_names_what_it_does_not_apply(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = """\
model_list:
  - model_name: bedrock-sonic
    litellm_params:
      model: bedrock/amazon.nova-sonic-v1:0
    model_infoo: {mode: realtime}
    tpm: 1000
    model_info:
      mode: realtime
      use_sucessor: false
      input_cost_per_token: 0.000001
      max_tokens: 4096
general_settings:
  databse_url: sqlite:///keys.db
  alerting: [slack]
  allowed_ips: [10.0.0.1]
router_settings:
  cooldwn_time: 30
litellm_settings:
  json_log: true
router_setings: {}
guardrails: []
"""
    warned = warnings_for(tmp_path, text, caplog)
    source = str(tmp_path / "config.yaml")
    expected = [
        f"{source}: router_setings is not a section rtcore knows; did you mean "
        "router_settings? It is ignored",
        f"{source}: model_list[0].model_infoo is not a setting rtcore knows; did you mean "
        "model_info? It is ignored",
        f"{source}: model_list[0] tpm: a model_list entry holds model_name, litellm_params "
        "and model_info; ignored",
        f"{source}: model_list[0].model_info.use_sucessor is not a setting rtcore knows; did "
        "you mean use_successor? It is ignored",
        f"{source}: model_list[0].model_info max_tokens: neither rtcore nor provider "
        "'bedrock-sonic' reads them (they read base_model, cache_read_input_token_cost, "
        "failback, id, input_cost_per_audio_token, input_cost_per_second, "
        "input_cost_per_token, mode, output_cost_per_audio_token, output_cost_per_second, "
        "output_cost_per_token, use_successor, voice_map); ignored",
        f"{source}: general_settings.databse_url is not a setting rtcore knows; did you mean "
        "database_url? It is ignored",
        f"{source}: general_settings alerting, allowed_ips: LiteLLM proxy settings rtcore "
        "does not apply (it applies master_key, database_url, allowed_origins, ssl_certfile, "
        "ssl_keyfile, mcp_call_timeout, mcp_max_output_bytes and mcp_client_server_urls); "
        "ignored",
        f"{source}: litellm_settings.json_log is not a setting rtcore knows; did you mean "
        "json_logs? It is ignored",
        f"{source}: router_settings.cooldwn_time is not a setting rtcore knows; did you mean "
        "cooldown_time? It is ignored",
    ]
    assert warned == expected
    # LiteLLM's own sections are named too, at INFO: a shared file is expected to have them.
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert f"{source}: ignoring sections rtcore does not use: guardrails" in infos


def test_model_info_of_a_provider_that_does_not_say_is_not_checked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = "model_list:\n- model_name: a\n  litellm_params: {model: echo/echo-1}\n"
    text += "  model_info: {anything: 1}\n"
    assert warnings_for(tmp_path, text, caplog) == []
