"""Browsers apply no CORS to WebSockets: a page from another origin is refused (403) before
the upgrade unless the operator allows its origin; SDKs (no Origin) and same-origin pages
(the playground) are accepted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import websockets
import yaml
from websockets.exceptions import InvalidStatus

from tests.transports.process import Served, rtcore


async def opens(url: str, origin: str | None) -> bool:
    """True when the session opens; False when refused as cross-origin (403)."""
    try:
        async with websockets.connect(url, origin=origin, open_timeout=10) as ws:  # type: ignore[arg-type]
            return bool(json.loads(await ws.recv())["type"] == "session.created")
    except InvalidStatus as refused:
        status = refused.response.status_code
        code = json.loads(refused.response.body or b"{}").get("error", {}).get("code")
    if (status, code) != (403, "origin_not_allowed"):
        raise AssertionError(f"refused with {status} {code}, not as cross-origin")
    return False


async def test_a_cross_origin_page_is_refused_and_others_are_not() -> None:
    with Served("--provider", "echo") as served:
        url = served.url()
        assert not await opens(url, "https://evil.example")
        assert not await opens(url, "null")  # a file:// page
        assert await opens(url, None)  # an SDK, a server
        assert await opens(url, f"http://127.0.0.1:{served.port}")  # the playground
    assert "cross-origin upgrade from https://evil.example" in served.stderr


async def test_allowed_origins_from_flags_and_from_general_settings(tmp_path: Path) -> None:
    with Served("--provider", "echo", "--allowed-origin", "https://App.Example.com/") as served:
        assert await opens(served.url(), "https://app.example.com")
        assert not await opens(served.url(), "https://other.example.com")
    config = {
        "model_list": [{"model_name": "echo", "litellm_params": {"model": "echo/echo-1"}}],
        "general_settings": {"allowed_origins": ["*"]},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    with Served("--config", str(path)) as served:
        assert await opens(served.url(), "https://anywhere.example")


@pytest.mark.parametrize("value", ["app.example.com", "https://app.example.com/path"])
def test_an_allowed_origin_that_is_not_one_stops_the_start(value: str) -> None:
    result = rtcore("serve", "--provider", "echo", "--port", "0", "--allowed-origin", value)
    assert result.returncode == 2
    assert "is not an origin" in result.stderr
