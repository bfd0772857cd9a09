"""An in-process WebSocket server on a real loopback socket, with the core's scripted
provider behind it. (End-to-end tests start ``rtcore serve`` as a subprocess instead.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from aiohttp import web

from rtcore.gateway import Gateway
from rtcore.provider import ModelConfig, ProviderSpec
from rtcore.serve_settings import ServeSettings
from rtcore_websocket.server import build_app
from tests.core.conftest import ScriptedProvider, text_reply

MODELS = [
    ModelConfig(name="scripted", provider="scripted", model="s-1"),
    ModelConfig(name="other", provider="scripted", model="s-2"),
]


class Server:
    def __init__(self, port: int, provider: ScriptedProvider) -> None:
        self.port = port
        self.provider = provider

    def url(self, path: str = "/v1/realtime", model: str | None = "scripted") -> str:
        query = f"?model={model}" if model is not None else ""
        return f"ws://127.0.0.1:{self.port}{path}{query}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"


StartServer = Callable[..., AbstractAsyncContextManager[Server]]


@pytest.fixture
def start_server() -> StartServer:
    @asynccontextmanager
    async def start(
        *,
        master_key: str | None = None,
        models: list[ModelConfig] = MODELS,
        dialect: str | None = None,
        max_message_bytes: int = 64 * 1024,
    ) -> AsyncIterator[Server]:
        provider = ScriptedProvider(text_reply)
        spec = ProviderSpec(name="scripted", factory=lambda _m: provider, default_model="s-1")
        gateway = Gateway(
            models, {"scripted": spec}, master_key=master_key, max_message_bytes=max_message_bytes
        )
        settings = ServeSettings(
            models=models,
            master_key=master_key,
            dialect=dialect,
            max_message_bytes=max_message_bytes,
        )
        runner = web.AppRunner(build_app(gateway, settings), access_log=None, shutdown_timeout=2)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            yield Server(runner.addresses[0][1], provider)
        finally:
            await runner.cleanup()
            await gateway.aclose()

    return start
