"""The config loader: LiteLLM's format verbatim, env references, and errors that name the
file, the key and the problem."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rtcore.config import (
    ConfigError,
    load_config,
    master_key_from_env,
    parse_config,
    provider_models,
)
from rtcore.provider import ModelConfig, ProviderSpec

SEED_CONFIG = """\
model_list:
  - model_name: "bedrock-sonic"
    litellm_params:
      model: bedrock/amazon.nova-sonic-v1:0
      aws_region_name: us-east-1  # or your preferred region
    model_info:
      mode: realtime
"""


def _never(_: ModelConfig) -> object:
    raise AssertionError("config loading must not build providers")


SONIC = ProviderSpec(
    name="bedrock-sonic",
    factory=_never,  # type: ignore[arg-type]
    default_model="amazon.nova-sonic-v1:0",
    models=("amazon.nova-sonic-v1:0", "amazon.nova-2-sonic-v1:0"),
    model_prefixes=("bedrock",),
    accepts=lambda model_id: "sonic" in model_id,
)
ECHO = ProviderSpec(
    name="echo",
    factory=_never,
    default_model="echo-1",
    models=("echo-1", "echo-2"),  # type: ignore[arg-type]
)
PROVIDERS = {"bedrock-sonic": SONIC, "echo": ECHO}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def error_for(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, PROVIDERS)
    assert str(info.value).startswith(f"{path}: ")
    return info.value


def test_seed_config_verbatim(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, SEED_CONFIG), PROVIDERS)
    assert loaded.models == [
        ModelConfig(
            name="bedrock-sonic",
            provider="bedrock-sonic",
            model="amazon.nova-sonic-v1:0",
            params={"aws_region_name": "us-east-1"},
            info={"mode": "realtime"},
        )
    ]
    assert loaded.master_key is None


def test_env_references_resolve_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_REGION", "eu-north-1")
    monkeypatch.setenv("T_SECRET", "s3cr3t-value")
    monkeypatch.setenv("T_KEY", "sk-master")
    loaded = load_config(
        write(
            tmp_path,
            """\
model_list:
  - model_name: sonic
    litellm_params:
      model: bedrock/amazon.nova-sonic-v1:0
      aws_region_name: os.environ/T_REGION
      aws_secret_access_key: os.environ/T_SECRET
      extra: {nested: [plain, os.environ/T_REGION]}
general_settings:
  master_key: os.environ/T_KEY
litellm_settings: {drop_params: true}
""",
        ),
        PROVIDERS,
    )
    assert loaded.models[0].params == {
        "aws_region_name": "eu-north-1",
        "aws_secret_access_key": "s3cr3t-value",
        "extra": {"nested": ["plain", "eu-north-1"]},
    }
    assert loaded.master_key == "sk-master"


def test_provider_name_works_as_prefix(tmp_path: Path) -> None:
    loaded = load_config(
        write(tmp_path, "model_list:\n- model_name: e\n  litellm_params: {model: echo/echo-2}\n"),
        PROVIDERS,
    )
    assert loaded.models == [ModelConfig(name="e", provider="echo", model="echo-2")]


def test_non_realtime_entries_are_skipped(tmp_path: Path) -> None:
    loaded = load_config(
        write(
            tmp_path,
            SEED_CONFIG
            + """\
  - model_name: claude
    litellm_params: {model: bedrock/anthropic.claude-3}
    model_info: {mode: chat}
""",
        ),
        PROVIDERS,
    )
    assert [m.name for m in loaded.models] == ["bedrock-sonic"]


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("", None, "the file is empty"),
        ("- a\n- b\n", "(top level)", "expected a mapping, got a list"),
        ("general_settings: {}\n", "model_list", "expected a non-empty list"),
        ("model_list: []\n", "model_list", "expected a non-empty list"),
        ("model_list: [5]\n", "model_list[0]", "expected a mapping, got an integer"),
        (
            "model_list:\n- litellm_params: {model: echo/echo-1}\n",
            "model_list[0].model_name",
            "expected a non-empty string, got nothing",
        ),
        (
            "model_list:\n- model_name: a\n",
            "model_list[0].litellm_params",
            "expected a mapping, got nothing",
        ),
        (
            "model_list:\n- model_name: a\n  litellm_params: {aws_region_name: x}\n",
            "model_list[0].litellm_params.model",
            "expected a non-empty string",
        ),
        (
            "model_list:\n- model_name: a\n  litellm_params: {model: 42}\n",
            "model_list[0].litellm_params.model",
            "expected a non-empty string, got an integer",
        ),
        (
            "model_list:\n- model_name: a\n  litellm_params: {model: nova-sonic}\n"
            "  model_info: {mode: realtime}\n",
            "model_list[0].litellm_params.model",
            "expected 'PROVIDER/MODEL_ID'",
        ),
        (
            "model_list:\n- model_name: a\n  litellm_params: {model: openai/gpt-realtime}\n"
            "  model_info: {mode: realtime}\n",
            "model_list[0].litellm_params.model",
            "no installed provider serves models starting with 'openai/'. "
            "Installed providers: bedrock-sonic (bedrock/..., bedrock-sonic/...); echo (echo/...)",
        ),
        (
            "model_list:\n- model_name: a\n  litellm_params: {model: bedrock/anthropic.claude}\n"
            "  model_info: {mode: realtime}\n",
            "model_list[0].litellm_params.model",
            "provider 'bedrock-sonic' does not serve model id 'anthropic.claude'",
        ),
        (
            "model_list:\n- model_name: a\n  litellm_params: {model: echo/echo-1}\n"
            "router_settings: {fallbacks: [{a: [b]}]}\n",
            "router_settings.fallbacks.a",
            "no model_list entry is named 'b' (models: a)",
        ),
        (
            "model_list:\n- model_name: a\n  litellm_params: {model: echo/echo-1}\n"
            "router_settings: {fallbacks: {a: b}}\n",
            "router_settings.fallbacks",
            'expected a list like [{"MODEL": ["FALLBACK", ...]}]',
        ),
        (
            "model_list:\n- model_name: a\n  litellm_params: {model: echo/echo-1}\n"
            "  model_info: {id: x}\n"
            "- model_name: b\n  litellm_params: {model: echo/echo-1}\n  model_info: {id: x}\n",
            "model_list",
            "model_info.id 'x' is given to two entries",
        ),
        (
            "model_list:\n- model_name: a\n  litellm_params: {model: echo/echo-1, order: one}\n",
            "model_list[0].litellm_params.order",
            "expected a whole number",
        ),
        (
            "model_list:\n- model_name: a\n  litellm_params: {model: echo/echo-1}\n"
            "router_settings: {routing_strategy: fastest}\n",
            "router_settings.routing_strategy",
            "unknown strategy 'fastest'",
        ),
        (
            "model_list:\n- model_name: a\n  litellm_params: {model: echo/echo-1}\n"
            "  model_info: {mode: chat}\n",
            "model_list",
            "no realtime model: every entry was skipped",
        ),
        (
            "model_list:\n- model_name: a\n  litellm_params:\n    model: echo/echo-1\n"
            "    aws_secret_access_key: os.environ/RTCORE_TEST_UNSET\n",
            "model_list[0].litellm_params.aws_secret_access_key",
            "environment variable 'RTCORE_TEST_UNSET' is not set",
        ),
        (
            SEED_CONFIG + "general_settings: {master_key: ''}\n",
            "general_settings.master_key",
            "expected a non-empty string",
        ),
        (
            SEED_CONFIG + "general_settings: [1]\n",
            "general_settings",
            "expected a mapping, got a list",
        ),
    ],
)
def test_errors_name_key_and_problem(
    tmp_path: Path, text: str, key: str | None, problem: str
) -> None:
    error = error_for(tmp_path, text)
    assert error.key == key
    assert problem in error.problem


def test_general_settings_strings_read_as_each_is_meant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # TLS files left null are unset; the master key loses the newline a key file leaves,
    # the database URL is taken as written; one origin may stand for a list of it.
    monkeypatch.setenv("RTCORE_TEST_KEY", "sk-file-key\n")
    loaded = load_config(
        write(
            tmp_path,
            SEED_CONFIG + "general_settings:\n"
            "  master_key: os.environ/RTCORE_TEST_KEY\n"
            "  ssl_certfile: null\n"
            "  ssl_keyfile: key.pem\n"
            "  database_url: ' sqlite:///keys.db'\n"
            "  allowed_origins: https://app.example\n",
        ),
        PROVIDERS,
    )
    assert loaded.master_key == "sk-file-key"
    assert (loaded.ssl_certfile, loaded.ssl_keyfile) == (None, "key.pem")
    assert loaded.database_url == " sqlite:///keys.db"
    assert loaded.allowed_origins == ("https://app.example",)


@pytest.mark.parametrize("name", ["master_key", "database_url"])
def test_a_master_key_or_database_given_as_null_is_an_error(tmp_path: Path, name: str) -> None:
    # Written and empty is a mistake, not "none": the server would run open, or keep its
    # keys nowhere.
    error = error_for(tmp_path, SEED_CONFIG + f"general_settings: {{{name}: null}}\n")
    assert error.key == f"general_settings.{name}"
    assert "expected a non-empty string, got nothing (null)" in error.problem


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    error = error_for(tmp_path, "model_list:\n  - model_name: [unclosed\n")
    assert error.key is None
    assert "invalid YAML" in error.problem
    assert "line 3" in error.problem


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match=r"^nope\.yaml: cannot read the file: No such file"):
        load_config("nope.yaml", PROVIDERS)


def test_parse_config_accepts_parsed_data() -> None:
    data = {"model_list": [{"model_name": "x", "litellm_params": {"model": "echo/echo-1"}}]}
    assert parse_config(data, PROVIDERS, "inline").models[0].model == "echo-1"


def test_provider_models_default_answers_to_provider_name() -> None:
    assert provider_models(SONIC) == [
        ModelConfig(name="bedrock-sonic", provider="bedrock-sonic", model="amazon.nova-sonic-v1:0"),
        ModelConfig(
            name="amazon.nova-sonic-v1:0",
            provider="bedrock-sonic",
            model="amazon.nova-sonic-v1:0",
            implicit=True,
        ),
        ModelConfig(
            name="amazon.nova-2-sonic-v1:0",
            provider="bedrock-sonic",
            model="amazon.nova-2-sonic-v1:0",
            implicit=True,
        ),
    ]


def test_master_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RTCORE_MASTER_KEY", raising=False)
    monkeypatch.delenv("LITELLM_MASTER_KEY", raising=False)
    assert master_key_from_env() is None
    # LiteLLM's variable, so a LiteLLM deployment's environment works as it is...
    monkeypatch.setenv("LITELLM_MASTER_KEY", " sk-litellm\n")
    assert master_key_from_env() == "sk-litellm"
    # ...and rtcore's own wins over it.
    monkeypatch.setenv("RTCORE_MASTER_KEY", "sk-rtcore")
    assert master_key_from_env() == "sk-rtcore"
    monkeypatch.delenv("LITELLM_MASTER_KEY")
    monkeypatch.setenv("RTCORE_MASTER_KEY", "")
    assert master_key_from_env() is None
    monkeypatch.setenv("RTCORE_MASTER_KEY", "sk-env")
    assert master_key_from_env() == "sk-env"


def test_environment_variables_are_set_before_the_file_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # LiteLLM's section: its values are in the environment for os.environ/ references
    # (and for libraries that read the environment, the AWS SDK's chain).
    monkeypatch.delenv("T_ENV_KEY", raising=False)
    monkeypatch.setenv("T_ENV_REGION", "us-west-2")  # replaced, as LiteLLM does
    loaded = load_config(
        write(
            tmp_path,
            """\
environment_variables:
  T_ENV_KEY: sk-from-the-file
  T_ENV_REGION: eu-north-1
  T_ENV_FLAG: true
model_list:
  - model_name: sonic
    litellm_params:
      model: bedrock/amazon.nova-2-sonic-v1:0
      aws_region_name: os.environ/T_ENV_REGION
general_settings:
  master_key: os.environ/T_ENV_KEY
""",
        ),
        PROVIDERS,
    )
    assert loaded.master_key == "sk-from-the-file"
    assert loaded.models[0].params["aws_region_name"] == "eu-north-1"
    assert loaded.environment == {
        "T_ENV_KEY": "sk-from-the-file",
        "T_ENV_REGION": "eu-north-1",
        "T_ENV_FLAG": "true",
    }
    assert os.environ["T_ENV_FLAG"] == "true"
    for name in ("T_ENV_KEY", "T_ENV_FLAG"):  # T_ENV_REGION: monkeypatch restores it
        os.environ.pop(name, None)


def test_environment_variables_must_be_a_mapping_of_names(tmp_path: Path) -> None:
    error = error_for(tmp_path, "environment_variables: [A]\nmodel_list: []\n")
    assert error.key == "environment_variables"
    error = error_for(tmp_path, "environment_variables: {A: {b: 1}}\nmodel_list: []\n")
    assert error.key == "environment_variables.A"
