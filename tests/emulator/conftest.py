from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from rtcore_bedrock_sonic.stream import install_loop_exception_filter
from rtcore_sonic_emulator import NovaSonicEmulator, make_client

V1 = "amazon.nova-sonic-v1:0"
V2 = "amazon.nova-2-sonic-v1:0"
V2_5 = "amazon.nova-2-5-sonic"

WEATHER_TOOL: dict[str, Any] = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Get the current weather for a location",
        "inputSchema": {
            "json": '{"type": "object", "properties": {"location": {"type": "string"}}, '
            '"required": ["location"]}'
        },
    }
}


@pytest.fixture(scope="session")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("emulator-certs")


@pytest.fixture(autouse=True)
async def _crt_loop_handler() -> None:
    # awscrt's "Task exception was never retrieved" after a server-ended stream (an SDK
    # trap): silenced by the provider's own filter, as in rtcore serve.
    install_loop_exception_filter(asyncio.get_running_loop())


@pytest.fixture
async def emulator(cert_dir: Path) -> AsyncIterator[NovaSonicEmulator]:
    async with NovaSonicEmulator(cert_dir=cert_dir, realtime_factor=0.0, legacy_models=True) as emu:
        yield emu


@pytest.fixture
async def client(emulator: NovaSonicEmulator) -> Any:
    return await make_client(emulator.endpoint, emulator.ca_file)
