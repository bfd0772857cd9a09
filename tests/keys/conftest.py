"""A real ``rtcore serve`` with a master key and a key store, the echo provider behind it,
and the HTTP and WebSocket clients an operator's scripts and users' apps are."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import websockets

from tests.transports.process import Served

MASTER = "sk-master-test"
# Echo's usage priced so that one text turn costs a known amount (model_info overrides).
CONFIG = """\
model_list:
  - model_name: echo
    litellm_params: {model: echo/echo-1}
    model_info: {mode: realtime, input_cost_per_token: 0.001, output_cost_per_token: 0.002}
  - model_name: other
    litellm_params: {model: echo/echo-1}
    model_info: {mode: realtime}
general_settings:
  master_key: sk-master-test
"""


def serve(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> Served:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    return Served("--config", str(config), *extra, env=env)


class Admin:
    """LiteLLM-shaped admin calls, as an operator's script makes them."""

    def __init__(self, http: aiohttp.ClientSession, port: int, key: str = MASTER) -> None:
        self.http = http
        self.base = f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"Bearer {key}"}

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        async with self.http.post(self.base + path, json=body, headers=self.headers) as r:
            return r.status, await r.json()

    async def get(self, path: str, **query: str) -> tuple[int, Any]:
        async with self.http.get(self.base + path, params=query, headers=self.headers) as r:
            return r.status, await r.json()

    async def generate(self, **body: Any) -> str:
        status, result = await self.post("/key/generate", body)
        assert status == 200, result
        return str(result["key"])


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def refused(port: int, key: str, model: str = "echo") -> tuple[int, dict[str, Any]]:
    """The HTTP status and error body of an upgrade that is refused."""
    url = f"ws://127.0.0.1:{port}/v1/realtime?model={model}"
    with pytest.raises(websockets.InvalidStatus) as info:
        async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {key}"}):
            pass
    response = info.value.response
    return response.status_code, json.loads(response.body)


@contextlib.asynccontextmanager
async def session(port: int, key: str, model: str = "echo") -> AsyncIterator[Any]:
    url = f"ws://127.0.0.1:{port}/v1/realtime?model={model}"
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        first = json.loads(await ws.recv())
        assert first["type"] == "session.created", first
        yield ws


async def text_turn(ws: Any, text: str = "hello") -> list[dict[str, Any]]:
    """One typed turn; every event up to its response.done (and what follows at once)."""
    content = [{"type": "input_text", "text": text}]
    await ws.send(
        json.dumps(
            {
                "type": "conversation.item.create",
                "item": {"type": "message", "role": "user", "content": content},
            }
        )
    )
    await ws.send(json.dumps({"type": "response.create", "response": {"modalities": ["text"]}}))
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while not any(e["type"] == "response.done" for e in events):
            events.append(json.loads(await ws.recv()))
    return events


async def admitted(port: int, key: str) -> bool:
    """Whether a session with ``key`` is let in now (and it is closed again at once)."""
    try:
        async with session(port, key):
            return True
    except websockets.InvalidStatus:
        return False


async def until(check: Any, within: float = 10.0) -> Any:
    async with asyncio.timeout(within):
        while not (result := await check()):  # noqa: ASYNC110 - polls another process
            await asyncio.sleep(0.1)
    return result


# -- PostgreSQL, Debian's, started for the test -------------------------------------------------
