"""What the WebSocket transport serves besides the realtime endpoint: the model list, the
browser playground, and the per-connection ``?input_audio_rate=`` knob."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from rtcore.provider import messages as n
from tests.transports.conftest import StartServer

KEY = "sk-test-master-key"


async def get(url: str, **headers: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as r:
        return r.status, r.content_type, await r.text()


async def test_models_lists_configured_names(start_server: StartServer) -> None:
    async with start_server() as server:
        status, ctype, body = await get(server.http + "/v1/models")
    assert (status, ctype) == (200, "application/json")
    listing = json.loads(body)
    assert listing["object"] == "list"
    # As configured: what a picker (the playground's) offers first is the first configured.
    assert [m["id"] for m in listing["data"]] == ["scripted", "other"]
    assert all(m["object"] == "model" for m in listing["data"])
    # Each model's voices, for pickers (the scripted provider's).
    assert listing["data"][0]["voices"] == ["matthew", "tiffany"]
    assert listing["data"][0]["default_voice"] == "matthew"


async def test_models_needs_the_key_when_one_is_configured(start_server: StartServer) -> None:
    async with start_server(master_key=KEY) as server:
        status, _, body = await get(server.http + "/v1/models")
        assert status == 401
        assert json.loads(body)["error"]["code"] == "invalid_api_key"
        status, _, _ = await get(server.http + "/v1/models", Authorization=f"Bearer {KEY}")
        assert status == 200


async def test_playground_page_and_scripts(start_server: StartServer) -> None:
    async with start_server() as server:
        status, ctype, page = await get(server.http + "/")
        assert (status, ctype) == (200, "text/html")
        assert "rtcore playground" in page
        assert '<script src="/playground/playground.js">' in page
        scripts = {}
        for script in ("playground.js", "capture-worklet.js"):
            status, ctype, scripts[script] = await get(server.http + "/playground/" + script)
            assert status == 200
            assert ctype in ("application/javascript", "text/javascript")
        # The page names its icon, so browsers ask for it (and not for a /favicon.ico).
        assert '<link rel="icon" type="image/svg+xml" href="/playground/favicon.svg">' in page
        status, ctype, icon = await get(server.http + "/playground/favicon.svg")
        assert (status, ctype) == (200, "image/svg+xml")
        assert icon.startswith("<svg")
    # Browsers authenticate with these two subprotocols; the worklet is loaded by path.
    assert '["realtime"]' in scripts["playground.js"]
    assert '"openai-insecure-api-key." + key' in scripts["playground.js"]
    assert "/playground/capture-worklet.js" in scripts["playground.js"]
    assert 'registerProcessor("pcm-capture"' in scripts["capture-worklet.js"]


@pytest.mark.parametrize("rate", ["123", "abc", "-16000", "16000.0"])
async def test_bad_input_audio_rate_is_refused_before_upgrade(
    start_server: StartServer, rate: str
) -> None:
    async with start_server() as server:
        with pytest.raises(InvalidStatus) as info:
            async with connect(server.url() + f"&input_audio_rate={rate}", proxy=None):
                pass
    response = info.value.response
    assert response.status_code == 400
    error = json.loads(response.body or b"{}")["error"]
    assert (error["code"], error["param"]) == ("invalid_value", "input_audio_rate")
    assert "16000" in error["message"]


@pytest.mark.parametrize(("query", "rate"), [("", 16000), ("&input_audio_rate=24000", 24000)])
async def test_input_audio_rate_sets_what_beta_pcm16_stands_for(
    start_server: StartServer, query: str, rate: int
) -> None:
    """No dialect signal and a flat session.update: "pcm16" is 16 kHz (the seed's
    programs) unless the URL says otherwise."""
    async with start_server() as server:
        async with connect(server.url() + query, proxy=None) as ws:
            await ws.recv()  # session.created
            await ws.recv()  # conversation.created
            update = {"type": "session.update", "session": {"input_audio_format": "pcm16"}}
            await ws.send(json.dumps(update))
            event: dict[str, Any] = json.loads(await ws.recv())
            assert event["type"] == "session.updated"
        provider = server.provider
        configs = [c.config for c in provider.commands if isinstance(c, n.Configure)]
    # The effective configuration (an update that changes nothing sends no Configure).
    assert [*provider.opened_with, *configs][-1].input_sample_rate == rate
