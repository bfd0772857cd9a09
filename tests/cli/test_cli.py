"""The ``rtcore`` command line, run as users run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from websockets.asyncio.client import connect

from tests.transports.process import Served, rtcore

SAMPLE = {"PYTHONPATH": str(Path(__file__).parent / "sample_plugin")}


def test_help_lists_commands_and_import_stays_light() -> None:
    result = rtcore("--help")
    assert result.returncode == 0
    assert "serve" in result.stdout
    assert "plugins" in result.stdout
    assert "--disable-plugin" in result.stdout
    # Heavy dependencies load only when serving starts.
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, rtcore.cli, rtcore.serve_command, rtcore_websocket.plugin, "
            "rtcore_stdio.plugin;"
            "print(sorted({'aiohttp', 'numpy', 'yaml'} & set(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "[]"


def test_plugins_json_lists_builtins_and_third_party() -> None:
    result = rtcore("plugins", "--json")
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    plugins = {p["name"]: p for p in listing["plugins"]}
    for name in ("websocket", "stdio"):
        assert plugins[name]["distribution"] == "rtcore"
        assert plugins[name]["provides"] == {"transports": [name]}
    # The WebSocket transport adds its own options (TLS, origins, pings, timeouts).
    assert plugins["websocket"]["hooks"] == [
        "rtcore_add_serve_arguments",
        "rtcore_register_transports",
    ]
    assert plugins["stdio"]["hooks"] == ["rtcore_register_transports"]
    assert plugins["echo"]["distribution"] == "rtcore-echo"
    assert plugins["echo"]["provides"] == {"providers": ["echo"]}


def test_plugins_shows_hooks_and_broken_plugins() -> None:
    result = rtcore("plugins", env=SAMPLE)
    assert result.returncode == 0
    assert "sample  (rtcore-cli-sample 0.1.0)" in result.stdout
    assert (
        "hooks: rtcore_add_serve_arguments, rtcore_register_commands, rtcore_serve_lifespan"
        in result.stdout
    )
    assert "commands: hello" in result.stdout
    assert (
        "broken-sample  (rtcore-cli-sample)  BROKEN: ModuleNotFoundError: "
        "No module named 'rtcore_cli_sample_missing'" in result.stdout
    )
    assert "Traceback" not in result.stderr
    listing = json.loads(rtcore("plugins", "--json", env=SAMPLE).stdout)
    assert listing["broken"] == [
        {
            "name": "broken-sample",
            "distribution": "rtcore-cli-sample",
            "error": "ModuleNotFoundError: No module named 'rtcore_cli_sample_missing'",
        }
    ]


def test_disable_plugin() -> None:
    result = rtcore("--disable-plugin", "stdio", "plugins", "--json")
    names = {p["name"] for p in json.loads(result.stdout)["plugins"]}
    assert "stdio" not in names
    assert "websocket" in names
    result = rtcore(
        "--disable-plugin", "stdio", "serve", "--transport", "stdio", "--provider", "echo"
    )
    assert result.returncode == 2
    assert "unknown transport 'stdio'; installed: websocket" in result.stderr


def test_plugin_subcommand_and_serve_option() -> None:
    result = rtcore("hello", "--name", "rtcore", env=SAMPLE)
    assert (result.returncode, result.stdout) == (3, "hello rtcore\n")
    assert "hello" in rtcore("--help", env=SAMPLE).stdout
    assert "--sample-alias NAME" in rtcore("serve", "--help", env=SAMPLE).stdout


async def test_plugin_lifespan_wraps_serving_and_may_add_models() -> None:
    served = Served("--provider", "echo", "--sample-alias", "alias", env=SAMPLE)
    async with connect(served.url("alias"), proxy=None) as ws:
        assert json.loads(await ws.recv())["session"]["model"] == "alias"
    assert served.stop() == 0
    stderr = served.stderr
    assert stderr.index("sample lifespan entered: alias") < stderr.index("listening on")
    assert stderr.index("listening on") < stderr.index("sample lifespan exited")


def test_config_errors_name_file_key_and_problem(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "model_list:\n  - model_name: x\n    litellm_params:\n"
        "      model: mistral/voxtral-mini-realtime\n"
    )
    result = rtcore("serve", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"rtcore serve: error: {config}: model_list[0].litellm_params.model: "
        "no installed provider serves models starting with 'mistral/'."
    )
    assert "Traceback" not in result.stderr


def test_usage_errors_are_clear(tmp_path: Path) -> None:
    cases = [
        (["serve"], "give --config FILE or --provider NAME (installed providers: "),
        (["serve", "--config", "x.yaml", "--provider", "echo"], "not both"),
        (["serve", "--provider", "nope"], "no provider named 'nope'; installed: "),
        (["serve", "--config", str(tmp_path / "missing.yaml")], "cannot read the file"),
        (["serve", "--provider", "echo", "--model", "zzz"], "--model 'zzz' is not configured"),
        (["serve", "--provider", "echo", "--transport", "carrier-pigeon"], "unknown transport"),
        (["serve", "--provider", "echo", "--port", "http"], "invalid int value: 'http'"),
        (["serve", "--provider", "echo", "--port", "70000"], "out of range"),
        (["serve", "--provider", "echo", "--dialect", "v2"], "invalid choice: 'v2'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ]
    for args, message in cases:
        result = rtcore(*args)
        assert result.returncode == 2, args
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_bad_provider_options_fail_at_start(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "model_list:\n  - model_name: e\n    litellm_params: {model: echo/echo-1, "
        "chunk_delay_ms: -5}\n"
    )
    for transport in ("websocket", "stdio"):
        result = rtcore("serve", "--config", str(config), "--transport", transport, input="")
        assert result.returncode == 2
        assert result.stderr.startswith(
            f"rtcore serve: error: {config}: model_list[0].litellm_params: "
            "model 'e' (provider 'echo'): invalid echo model parameter"
        ), result.stderr
