"""An operator's LiteLLM config, as it is (chat, embedding and realtime entries, ``include:``,
every section LiteLLM has), starts ``rtcore serve``: the realtime model is served, and the
log says exactly what was skipped and what was ignored, once each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.transports.process import Served

MODELS = """\
model_list:
  - model_name: text-embedding-3-small
    litellm_params:
      model: openai/text-embedding-3-small
      api_key: os.environ/OPENAI_API_KEY
    model_info:
      mode: embedding
  - model_name: claude-sonnet
    litellm_params:
      model: bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0
      aws_region_name: us-east-1
  - model_name: azure-chat
    litellm_params:
      model: azure/my-gpt4o-deployment
      api_base: https://example.openai.azure.com
      api_key: os.environ/AZURE_API_KEY
    model_info:
      base_model: azure/gpt-4o-2024-08-06
"""

CONFIG = """\
include:
  - models.yaml
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
  - model_name: bedrock-sonic
    litellm_params:
      model: bedrock/amazon.nova-2-sonic-v1:0
      aws_region_name: us-east-1
general_settings:
  master_key: sk-1234
  alerting: ["slack"]
  store_model_in_db: true
  disable_spend_logs: false
litellm_settings:
  drop_params: true
  callbacks: ["prometheus"]
  request_timeout: 600
router_settings:
  routing_strategy: simple-shuffle
  redis_host: localhost
environment_variables:
  SOME_FLAG: "1"
credential_list:
  - credential_name: default_azure
callback_settings:
  otel: {message_logging: false}
"""


def message(line: str) -> str:
    """A log line without its time and level."""
    line = line.rstrip("\n")
    return line.split(" ", 3)[3] if line.count(" ") >= 3 else line


async def test_an_operators_litellm_config_starts_and_says_what_it_skipped(
    tmp_path: Path,
) -> None:
    (tmp_path / "models.yaml").write_text(MODELS)
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    # Neither key is set: the entries that need them are not realtime ones, so they are
    # skipped before their variables are read.
    env = {"OPENAI_API_KEY": "", "AZURE_API_KEY": ""}
    async with Served("--config", str(config), "--emulator", env=env) as served:
        headers = {"Authorization": "Bearer sk-1234"}
        async with connect(served.url("bedrock-sonic"), additional_headers=headers) as ws:
            created = json.loads(await ws.recv())
            assert created["type"] == "session.created"
        with pytest.raises(InvalidStatus) as refused:
            async with connect(served.url("gpt-4o"), additional_headers=headers):
                pass
        assert refused.value.response.status_code == 404
    source = str(config)
    about_config = [
        message(line) for line in served.lines if f"{source}:" in line and ("rtcore.config" in line)
    ]
    assert about_config == [
        f"rtcore.config: {source}: included models.yaml",
        f"rtcore.config: {source}: ignoring sections rtcore does not use: callback_settings, "
        "credential_list",
        f"rtcore.config: {source}: set SOME_FLAG from environment_variables",
        f"rtcore.config: {source}: skipping what is not a realtime model (rtcore serves "
        "realtime sessions; an entry without model_info.mode is a chat model to LiteLLM): "
        "model_list[0] gpt-4o (openai/gpt-4o: not a realtime model of provider "
        "'openai-realtime'); model_list[2] text-embedding-3-small (mode embedding); "
        "model_list[3] claude-sonnet (bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0: not "
        "a realtime model of provider 'bedrock-sonic'); model_list[4] azure-chat "
        "(azure/my-gpt4o-deployment: not a realtime model of provider 'azure-realtime')",
        f"rtcore.config: {source}: general_settings alerting, disable_spend_logs, "
        "store_model_in_db: LiteLLM proxy settings rtcore does not apply (it applies "
        "master_key, database_url, allowed_origins, ssl_certfile, ssl_keyfile, "
        "mcp_call_timeout, mcp_max_output_bytes and mcp_client_server_urls); ignored",
        f"rtcore.config: {source}: litellm_settings drop_params, request_timeout: they "
        "configure LiteLLM's request handling, which realtime sessions in rtcore do not go "
        "through (require_auth_for_metrics_endpoint, json_logs and each callback an "
        "installed plugin serves apply); ignored",
        f"rtcore.config: {source}: router_settings redis_host: rtcore routes sessions, "
        "not requests (routing_strategy, cooldown_time, num_retries and fallbacks apply); "
        "per-request settings do not; ignored",
    ]


async def test_a_near_miss_of_a_realtime_model_id_is_named(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: voice\n"
        "    litellm_params: {model: openai/gpt-realtim-2}\n"
        "  - model_name: bedrock-sonic\n"
        "    litellm_params: {model: bedrock/amazon.nova-2-sonic-v1:0}\n"
    )
    async with Served("--config", str(config), "--emulator") as served:
        pass
    warned = [line for line in served.lines if "did you mean" in line]
    assert len(warned) == 1, served.stderr
    assert "'openai/gpt-realtim-2' is not a realtime model rtcore knows" in warned[0]
    assert "did you mean 'openai/gpt-realtime-2'" in warned[0]
