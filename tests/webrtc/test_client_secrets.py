"""Ephemeral client secrets: minted with a real key, held by a browser, good for one
session until they expire. Against ``rtcore serve`` with a master key (its key store in
SQLite), through WebRTC calls and the WebSocket."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.transports.process import Served
from tests.webrtc.peer import Peer

MASTER = "sk-secrets-master"
CONFIG = """\
model_list:
  - model_name: echo
    litellm_params: {model: echo/echo-1}
  - model_name: other
    litellm_params: {model: echo/echo-1}
general_settings:
  master_key: os.environ/SECRETS_MASTER
"""


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    env = {"SECRETS_MASTER": MASTER, "XDG_DATA_HOME": str(tmp_path / "data")}
    async with Served("--config", str(config), env=env) as server:
        yield server


async def post(
    served: Served, path: str, body: dict[str, Any], key: str = MASTER
) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{served.port}{path}",
            json=body,
            headers={"Authorization": f"Bearer {key}"},
        ) as answer,
    ):
        return answer.status, await answer.json()


async def mint(served: Served, key: str = MASTER, **body: Any) -> str:
    status, answer = await post(served, "/v1/realtime/client_secrets", body, key)
    assert status == 200, answer
    assert answer["value"].startswith("ek_")
    return str(answer["value"])


async def test_a_secret_opens_one_call_configured_as_minted(served: Served) -> None:
    before = int(time.time())
    status, answer = await post(
        served,
        "/v1/realtime/client_secrets",
        {
            "expires_after": {"anchor": "created_at", "seconds": 120},
            "session": {"type": "realtime", "model": "echo", "instructions": "Be brief."},
        },
    )
    assert status == 200, answer
    assert before + 119 <= answer["expires_at"] <= int(time.time()) + 121
    assert answer["session"]["model"] == "echo"
    secret = answer["value"]
    base = f"http://127.0.0.1:{served.port}"
    peer = Peer()
    try:
        # The browser's call: the secret as its Bearer, no model named (the secret's).
        assert (await peer.call(base, secret)).status == 201
        created = await peer.until("session.created")
        assert created["session"]["model"] == "echo"
        updated = await peer.until("session.updated")
        assert updated["session"]["instructions"] == "Be brief."
    finally:
        await peer.close()
    # Used once: a second call with it is refused.
    again = Peer()
    try:
        assert (await again.call(base, secret)).status == 401
        assert again.refusal["error"]["code"] == "client_secret_used"
    finally:
        await again.close()
    assert secret not in served.stderr  # never logged


async def test_a_secret_opens_a_websocket_session_from_a_browser(served: Served) -> None:
    secret = await mint(served, session={"type": "realtime", "model": "other"})
    url = f"ws://127.0.0.1:{served.port}/v1/realtime"  # no model: the secret's
    protocols = ["realtime", f"openai-insecure-api-key.{secret}"]
    async with connect(url, proxy=None, subprotocols=protocols) as ws:  # type: ignore[arg-type]
        created = json.loads(await ws.recv())
        assert created["session"]["model"] == "other"
    with pytest.raises(InvalidStatus) as used:
        async with connect(url, proxy=None, subprotocols=protocols):  # type: ignore[arg-type]
            pass
    assert used.value.response.status_code == 401


async def test_an_expired_secret_is_refused(served: Served) -> None:
    secret = await mint(served, expires_after={"anchor": "created_at", "seconds": 10})
    await asyncio.sleep(10.5)
    peer = Peer()
    try:
        answer = await peer.call(f"http://127.0.0.1:{served.port}", secret, model="echo")
        assert answer.status == 401
        assert peer.refusal["error"]["code"] == "client_secret_expired"
    finally:
        await peer.close()


async def test_the_beta_route_mints_a_one_minute_secret(served: Served) -> None:
    before = int(time.time())
    status, answer = await post(served, "/v1/realtime/sessions", {"model": "echo"})
    assert status == 200, answer
    assert answer["object"] == "realtime.session"
    secret = answer["client_secret"]
    assert before + 59 <= secret["expires_at"] <= int(time.time()) + 61
    url = f"ws://127.0.0.1:{served.port}/v1/realtime?model=echo"
    async with connect(
        url, proxy=None, additional_headers={"Authorization": f"Bearer {secret['value']}"}
    ) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"


async def test_a_secret_stands_for_the_virtual_key_that_minted_it(served: Served) -> None:
    status, key = await post(served, "/key/generate", {"max_parallel_requests": 1})
    assert status == 200, key
    secret = await mint(served, key["key"], session={"type": "realtime", "model": "echo"})
    url = f"ws://127.0.0.1:{served.port}/v1/realtime?model=echo"
    async with connect(
        url, proxy=None, additional_headers={"Authorization": f"Bearer {key['key']}"}
    ) as ws:
        await ws.recv()
        # The key's one session is taken: its secret is held to the same limit.
        with pytest.raises(InvalidStatus) as limited:
            async with connect(
                url, proxy=None, additional_headers={"Authorization": f"Bearer {secret}"}
            ):
                pass
        assert limited.value.response.status_code == 429


async def test_what_cannot_be_minted_is_refused_at_once(served: Served) -> None:
    cases = [
        ({"expires_after": {"seconds": 5}}, 400, "expires_after.seconds"),
        ({"expires_after": {"seconds": 7201}}, 400, "expires_after.seconds"),
        ({"session": {"type": "realtime", "model": "nope"}}, 404, "session.model"),
        ({"session": {"type": "transcription"}}, 400, "session.type"),
        ({"session": {"type": "realtime", "model": "echo", "voice": 7}}, 400, None),
    ]
    for body, status, param in cases:
        got, answer = await post(served, "/v1/realtime/client_secrets", body)
        assert got == status, (body, answer)
        if param is not None:
            assert answer["error"]["param"] == param, answer
    got, answer = await post(served, "/v1/realtime/client_secrets", {}, key="sk-wrong")
    assert got == 401
    # A secret cannot mint another.
    secret = await mint(served)
    got, answer = await post(served, "/v1/realtime/client_secrets", {}, key=secret)
    assert got == 401
