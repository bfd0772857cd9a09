"""CORS for the HTTP endpoints a browser page calls (WebRTC calls, minting client
secrets): a page of an origin allowed with ``--allowed-origin`` has its preflights
answered and may read the answers (``Location`` included); a page of another origin gets
no CORS header and its requests are refused. Against ``rtcore serve``, an aiortc peer for
the call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from rtcore_webrtc.ice import gather_on
from tests.transports.process import Served
from tests.webrtc.peer import Peer

KEY = "sk-cors-test"
APP = "https://app.example"
EVIL = "https://evil.example"
PATHS = [
    ("POST", "/v1/realtime/calls"),
    ("POST", "/realtime/calls"),
    ("DELETE", "/v1/realtime/calls/rtc_0123"),
    ("POST", "/v1/realtime/calls/rtc_0123/hangup"),
    ("DELETE", "/realtime/calls/rtc_0123"),
    ("POST", "/v1/realtime/client_secrets"),
    ("POST", "/realtime/client_secrets"),
    ("POST", "/v1/realtime/sessions"),
    ("POST", "/realtime/sessions"),
]
# What the openai JS SDK and @openai/agents-realtime send from a browser.
SDK_HEADERS = (
    "authorization,content-type,openai-beta,x-openai-agents-sdk,x-stainless-arch,"
    "x-stainless-lang,x-stainless-os,x-stainless-package-version,x-stainless-retry-count,"
    "x-stainless-runtime,x-stainless-runtime-version,x-stainless-timeout"
)


@pytest.fixture(autouse=True)
def _loopback_ice() -> None:
    gather_on("127.0.0.1")


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    env = {"RTCORE_MASTER_KEY": KEY, "XDG_DATA_HOME": str(tmp_path)}
    async with Served("--provider", "echo", "--allowed-origin", APP, env=env) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def listed(headers: CIMultiDictProxy[str], name: str) -> set[str]:
    return {v.strip().lower() for v in headers.get(name, "").split(",") if v.strip()}


async def preflight(
    http: aiohttp.ClientSession, served: Served, method: str, path: str, origin: str
) -> tuple[int, CIMultiDictProxy[str]]:
    async with http.options(
        f"http://127.0.0.1:{served.port}{path}",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": SDK_HEADERS,
        },
    ) as answer:
        return answer.status, answer.headers


async def test_preflights_are_answered_for_allowed_origins_only(
    served: Served, http: aiohttp.ClientSession
) -> None:
    for method, path in PATHS:
        status, headers = await preflight(http, served, method, path, APP)
        assert status == 204, path
        assert headers["Access-Control-Allow-Origin"] == APP
        assert method in {m.upper() for m in listed(headers, "Access-Control-Allow-Methods")}
        assert set(SDK_HEADERS.split(",")) <= listed(headers, "Access-Control-Allow-Headers")
        assert "origin" in listed(headers, "Vary")

        status, headers = await preflight(http, served, method, path, EVIL)
        assert status == 403, path
        assert not any(h.lower().startswith("access-control-") for h in headers), headers
    await served.logged("cross-origin from https://evil.example")


async def post_json(
    http: aiohttp.ClientSession,
    served: Served,
    path: str,
    body: dict[str, Any],
    *,
    origin: str | None,
    key: str = KEY,
) -> tuple[int, CIMultiDictProxy[str], dict[str, Any]]:
    headers = {"Authorization": f"Bearer {key}"} | ({"Origin": origin} if origin else {})
    async with http.post(
        f"http://127.0.0.1:{served.port}{path}", json=body, headers=headers
    ) as answer:
        return answer.status, answer.headers, await answer.json()


async def test_minting_from_a_page_of_an_allowed_origin(
    served: Served, http: aiohttp.ClientSession
) -> None:
    for path in ("/v1/realtime/client_secrets", "/v1/realtime/sessions"):
        status, headers, body = await post_json(http, served, path, {}, origin=APP)
        assert status == 200, body
        assert headers["Access-Control-Allow-Origin"] == APP
        assert "origin" in listed(headers, "Vary")
        # A refusal is readable too: the page can say why.
        status, headers, body = await post_json(http, served, path, {}, origin=APP, key="sk-wrong")
        assert status == 401
        assert body["error"]["code"] == "invalid_api_key"
        assert headers["Access-Control-Allow-Origin"] == APP

        # Another origin's page: refused, and nothing for the browser to let it read.
        status, headers, body = await post_json(http, served, path, {}, origin=EVIL)
        assert status == 403
        assert body["error"]["code"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in headers

        # An SDK or a server (no Origin): served as ever, no CORS headers.
        status, headers, body = await post_json(http, served, path, {}, origin=None)
        assert status == 200, body
        assert "Access-Control-Allow-Origin" not in headers


async def test_a_call_from_a_page_of_an_allowed_origin(
    served: Served, http: aiohttp.ClientSession
) -> None:
    base = f"http://127.0.0.1:{served.port}"
    peer, refused = Peer(), Peer()
    try:
        answer = await peer.call(base, KEY, model="echo", headers={"Origin": APP})
        assert answer.status == 201
        assert answer.headers["Access-Control-Allow-Origin"] == APP
        # The page reads Location to hang up later.
        assert "location" in listed(answer.headers, "Access-Control-Expose-Headers")
        await peer.until("session.created")
        assert peer.location is not None
        async with http.delete(
            base + peer.location, headers={"Authorization": f"Bearer {KEY}", "Origin": APP}
        ) as ended:
            assert ended.status == 200
            assert ended.headers["Access-Control-Allow-Origin"] == APP

        answer = await refused.call(base, KEY, model="echo", headers={"Origin": EVIL})
        assert answer.status == 403
        assert refused.refusal["error"]["code"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in answer.headers
    finally:
        await peer.close()
        await refused.close()
    # The refused offer opened no session: only the allowed page's call did (whose line
    # comes before the refusal's).
    log = await served.logged("cross-origin from https://evil.example")
    assert log.count("session opened") == 1, log
