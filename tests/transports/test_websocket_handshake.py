"""What the WebSocket transport decides before the upgrade: keys, models, subprotocols.

Refusals happen before the upgrade, so the client sees an HTTP status and a JSON body."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from rtcore.dialect import Dialect
from rtcore_websocket.handshake import read_handshake
from tests.transports.conftest import StartServer

KEY = "sk-test-master-key"


async def refused(url: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(InvalidStatus) as info:
        async with connect(url, proxy=None, **kwargs):
            pass
    response = info.value.response
    return response.status_code, json.loads(response.body or b"{}")


async def first_event(ws: ClientConnection) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(await ws.recv())
    return event


@pytest.mark.parametrize(
    ("headers", "protocols", "why"),
    [
        ({}, None, "No API key provided"),
        ({"Authorization": "Bearer sk-wrong"}, None, "Incorrect API key provided"),
        ({"api-key": "sk-wrong"}, None, "Incorrect API key provided"),
        ({}, ["realtime", "openai-insecure-api-key.sk-wrong"], "Incorrect API key provided"),
        ({"Authorization": "Basic " + KEY}, None, "No API key provided"),
    ],
)
async def test_bad_key_is_refused_before_upgrade(
    start_server: StartServer, headers: dict[str, str], protocols: list[str] | None, why: str
) -> None:
    async with start_server(master_key=KEY) as server:
        status, body = await refused(
            server.url(),
            additional_headers=headers,
            subprotocols=[Subprotocol(p) for p in protocols] if protocols else None,
        )
    assert status == 401
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["code"] == "invalid_api_key"
    assert why in body["error"]["message"]
    assert "sk-wrong" not in body["error"]["message"]
    assert server.provider.sessions == []


async def test_right_key_by_bearer_header(start_server: StartServer) -> None:
    async with (
        start_server(master_key=KEY) as server,
        connect(
            server.url(), proxy=None, additional_headers={"Authorization": f"Bearer {KEY}"}
        ) as ws,
    ):
        assert (await first_event(ws))["type"] == "session.created"


async def test_right_key_by_api_key_header(start_server: StartServer) -> None:
    async with (
        start_server(master_key=KEY) as server,
        connect(server.url(), proxy=None, additional_headers={"api-key": KEY}) as ws,
    ):
        assert (await first_event(ws))["type"] == "session.created"


async def test_right_key_by_browser_subprotocols_echoes_realtime(
    start_server: StartServer,
) -> None:
    protocols = [Subprotocol("realtime"), Subprotocol(f"openai-insecure-api-key.{KEY}")]
    async with (
        start_server(master_key=KEY) as server,
        connect(server.url(), proxy=None, subprotocols=protocols) as ws,
    ):
        assert ws.subprotocol == "realtime"
        assert (await first_event(ws))["type"] == "session.created"


async def test_key_subprotocol_alone_is_refused_clearly(start_server: StartServer) -> None:
    async with start_server(master_key=KEY) as server:
        status, body = await refused(
            server.url(), subprotocols=[Subprotocol(f"openai-insecure-api-key.{KEY}")]
        )
    assert status == 400
    assert "'realtime'" in body["error"]["message"]


async def test_without_master_key_any_key_or_none_is_accepted(start_server: StartServer) -> None:
    async with start_server() as server:
        for headers in ({"Authorization": "Bearer sk-1234"}, {}):
            async with connect(server.url(), proxy=None, additional_headers=headers) as ws:
                assert (await first_event(ws))["type"] == "session.created"


@pytest.mark.parametrize("path", ["/v1/realtime", "/realtime", "/openai/v1/realtime"])
async def test_path_aliases(start_server: StartServer, path: str) -> None:
    async with (
        start_server() as server,
        connect(server.url(path), proxy=None) as ws,
    ):
        assert (await first_event(ws))["type"] == "session.created"


async def test_unknown_model_lists_configured_ones(start_server: StartServer) -> None:
    async with start_server() as server:
        status, body = await refused(server.url(model="gpt-4o-realtime"))
    assert status == 404
    assert body["error"]["code"] == "model_not_found"
    assert body["error"]["param"] == "model"
    assert body["error"]["message"] == (
        "Model 'gpt-4o-realtime' is not configured here. Configured models: other, scripted."
    )


async def test_missing_model_is_refused_when_several_are_configured(
    start_server: StartServer,
) -> None:
    async with start_server() as server:
        status, body = await refused(server.url(model=None))
    assert status == 400
    assert body["error"]["code"] == "missing_model"
    assert "Configured models: other, scripted" in body["error"]["message"]


async def test_auth_is_checked_before_the_model(start_server: StartServer) -> None:
    async with start_server(master_key=KEY) as server:
        status, _ = await refused(server.url(model="nope"))
    assert status == 401


async def test_health_and_plain_http(start_server: StartServer) -> None:
    async with start_server(master_key=KEY) as server, aiohttp.ClientSession() as http:
        # (The scripted provider has no readiness check: it counts as ready.)
        for path in ("/health", "/health/readiness"):
            async with http.get(server.http + path) as response:
                assert response.status == 200
                assert await response.json() == {"status": "ok"}
        # LiteLLM's liveness probes, with LiteLLM's answer, needing no key.
        for path in ("/health/liveliness", "/health/liveness"):
            async with http.get(server.http + path) as response:
                assert response.status == 200
                assert await response.json() == "I'm alive!"
        headers = {"Authorization": f"Bearer {KEY}"}
        async with http.get(server.http + "/v1/realtime?model=scripted", headers=headers) as r:
            assert r.status == 426
            assert (await r.json())["error"]["code"] == "upgrade_required"


def test_read_handshake_rules() -> None:
    h = read_handshake({"Authorization": "Bearer  k1 ", "api-key": "k2"})
    assert (h.key, h.protocol, h.dialect) == ("k1", None, None)
    assert read_handshake({"api-key": "k2"}).key == "k2"
    h = read_handshake(
        {"Sec-WebSocket-Protocol": "realtime, openai-insecure-api-key.k3, openai-beta.realtime-v1"}
    )
    assert (h.key, h.protocol, h.dialect) == ("k3", "realtime", Dialect.BETA)
    assert read_handshake({"OpenAI-Beta": "realtime=v1"}).dialect is Dialect.BETA
    assert read_handshake({"OpenAI-Beta": "assistants=v2"}).dialect is None
    # An openai SDK (its platform headers) without the beta header is a GA client.
    sdk = {"X-Stainless-Lang": "python", "User-Agent": "AsyncOpenAI/Python 3.57.0"}
    assert read_handshake(sdk).dialect is Dialect.GA
    assert read_handshake({**sdk, "OpenAI-Beta": "realtime=v1"}).dialect is Dialect.BETA
    h = read_handshake({"Sec-WebSocket-Protocol": "openai-insecure-api-key.k4"})
    assert (h.key, h.protocol, h.offered_protocols) == ("k4", None, True)
