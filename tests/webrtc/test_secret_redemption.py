"""Redeeming a client secret, in both places secrets are kept: the key store's database (a
master key is set) and the process (no master key). A secret offered for another model
is refused without being spent; one secret raced by twenty clients opens one session."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.transports.process import Served
from tests.webrtc.peer import Peer
from tests.webrtc.test_client_secrets import CONFIG, MASTER, mint

WITHOUT_MASTER_KEY = "\n".join(line for line in CONFIG.splitlines() if "master_key" not in line)


@pytest.fixture(params=["database", "memory"])
async def served(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Served]:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG if request.param == "database" else WITHOUT_MASTER_KEY)
    env = {"SECRETS_MASTER": MASTER, "XDG_DATA_HOME": str(tmp_path / "data")}
    async with Served("--config", str(config), env=env) as server:
        yield server


async def opens(served: Served, secret: str, model: str | None) -> tuple[int, str | None]:
    """101 when a WebSocket session opens with ``secret``; else the refusal's status and
    code."""
    query = f"?model={model}" if model else ""
    url = f"ws://127.0.0.1:{served.port}/v1/realtime{query}"
    headers = {"Authorization": f"Bearer {secret}"}
    try:
        async with connect(url, proxy=None, additional_headers=headers) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
            return 101, None
    except InvalidStatus as refused:
        body = json.loads(refused.response.body or b"{}")
        return refused.response.status_code, body["error"]["code"]


async def test_a_secret_refused_for_another_model_stays_good_for_its_own(
    served: Served,
) -> None:
    secret = await mint(served, session={"type": "realtime", "model": "echo"})
    for _ in range(2):
        assert await opens(served, secret, "other") == (400, "model_mismatch")
    peer = Peer()
    try:
        answer = await peer.call(f"http://127.0.0.1:{served.port}", secret, model="other")
        assert (answer.status, peer.refusal["error"]["code"]) == (400, "model_mismatch")
    finally:
        await peer.close()
    assert await opens(served, secret, "echo") == (101, None)
    # Spent now, by the session it opened.
    assert await opens(served, secret, "echo") == (401, "client_secret_used")
    assert await opens(served, secret, "other") == (401, "client_secret_used")


async def test_one_secret_raced_by_twenty_clients_opens_one_session(served: Served) -> None:
    secret = await mint(served, session={"type": "realtime", "model": "echo"})
    results = await asyncio.gather(*(opens(served, secret, None) for _ in range(20)))
    assert sorted(results, key=str) == sorted(
        [(101, None)] + [(401, "client_secret_used")] * 19, key=str
    )
