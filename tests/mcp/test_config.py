"""The config's ``mcp_servers`` and MCP limits, and which keys may use which servers."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from rtcore.config import load_config
from rtcore.config.errors import ConfigError
from rtcore.config.mcp import for_caller
from rtcore.plugins import load_plugins

MODELS = [
    {
        "model_name": "nova",
        "litellm_params": {"model": "bedrock/amazon.nova-2-sonic-v1:0"},
    }
]


def load(tmp_path: Path, **sections: object) -> object:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"model_list": MODELS, **sections}))
    return load_config(path, load_plugins().providers())


def test_servers_limits_and_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_TOKEN", "tok-123")
    loaded = load(
        tmp_path,
        mcp_servers={
            "ops": {
                "url": "https://ops.example.com/mcp",
                "auth_type": "bearer_token",
                "authentication_token": "os.environ/OPS_TOKEN",
                "headers": {"X-Team": "a"},
                "allowed_keys": ["support"],
            },
            "feed": {"url": "https://feed.example.com/sse", "transport": "sse"},
        },
        general_settings={"mcp_call_timeout": 5, "mcp_client_server_urls": False},
    )
    access = loaded.mcp  # type: ignore[attr-defined]
    ops, feed = access.servers["ops"], access.servers["feed"]
    assert ops.headers == {"X-Team": "a", "Authorization": "Bearer tok-123"}
    assert (ops.transport, feed.transport) == ("streamable_http", "sse")
    assert (access.call_timeout_seconds, access.client_urls) == (5.0, False)
    assert access.max_output_bytes == 100_000
    assert "tok-123" not in repr(access) + repr(ops)


def test_each_key_gets_the_servers_it_may_use(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        mcp_servers={
            "ops": {"url": "https://ops.example.com/mcp", "allowed_keys": ["support"]},
            "open": {"url": "https://open.example.com/mcp"},
        },
    )
    access = loaded.mcp  # type: ignore[attr-defined]
    assert set(for_caller(access, "support", master=False).servers) == {"ops", "open"}
    assert set(for_caller(access, "sales", master=False).servers) == {"open"}
    assert set(for_caller(access, None, master=False).servers) == {"open"}
    assert set(for_caller(access, None, master=True).servers) == {"ops", "open"}


@pytest.mark.parametrize(
    ("sections", "where"),
    [
        ({"mcp_servers": {"x": {"url": "ftp://x"}}}, "mcp_servers.x.url"),
        (
            {"mcp_servers": {"x": {"url": "http://x", "transport": "stdio"}}},
            "mcp_servers.x.transport",
        ),
        (
            {
                "mcp_servers": {
                    "x": {"url": "http://x", "auth_type": "magic", "authentication_token": "t"}
                }
            },
            "mcp_servers.x.auth_type",
        ),
        ({"general_settings": {"mcp_call_timeout": 0}}, "general_settings.mcp_call_timeout"),
        (
            {"general_settings": {"mcp_max_output_bytes": "big"}},
            "general_settings.mcp_max_output_bytes",
        ),
    ],
)
def test_mistakes_name_their_key(tmp_path: Path, sections: dict[str, object], where: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, **sections)
    assert where in str(err.value)


def test_a_misspelt_server_setting_names_the_one_meant(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="rtcore.config"):
        load(
            tmp_path,
            mcp_servers={
                "ops": {
                    "url": "https://ops.example.com/mcp",
                    "descripton": "Ops",
                    "allowed_tools": ["status"],
                    "allow_all_keys": True,
                }
            },
        )
    source = str(tmp_path / "config.yaml")
    assert [r.getMessage() for r in caplog.records] == [
        f"{source}: mcp_servers.ops.descripton is not a setting rtcore knows; did you mean "
        "description? It is ignored",
        f"{source}: mcp_servers.ops allow_all_keys, allowed_tools: LiteLLM MCP server settings "
        "rtcore does not apply (it applies allowed_keys, auth_type, authentication_token, "
        "description, headers, transport, url); ignored",
    ]


def test_a_misspelt_allowed_keys_stops_the_start(tmp_path: Path) -> None:
    # The server would otherwise be open to every key, as a misspelt master key would
    # leave the server keyless.
    with pytest.raises(ConfigError) as err:
        load(
            tmp_path,
            mcp_servers={"ops": {"url": "https://ops.example.com/mcp", "allowed_key": ["a"]}},
        )
    assert err.value.key == "mcp_servers.ops.allowed_key"
    assert "did you mean allowed_keys?" in err.value.problem


def test_a_misspelt_url_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, mcp_servers={"ops": {"urll": "https://ops.example.com/mcp"}})
    assert err.value.key == "mcp_servers.ops.url"
    assert "(found 'urll': did you mean url?)" in err.value.problem
