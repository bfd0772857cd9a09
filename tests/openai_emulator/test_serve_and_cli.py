"""``rtcore serve --emulator`` for the OpenAI-protocol models, the process, and independence."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import subprocess
import sys

import pytest
from openai import AsyncOpenAI

from rtcore.provider import ModelConfig
from rtcore.serve_settings import ServeSettings
from rtcore_openai_emulator.in_process import DUMMY_API_KEY, emulated_params, run_emulator

from .conftest import MODEL, say_text, text_session, until


def test_params_point_at_the_emulator() -> None:
    params = emulated_params(
        "azure-realtime",
        {
            "api_base": "https://res.openai.azure.com",
            "api_key": "real-key",
            "azure_ad_token": "t",
            "api_version": "2025-04-01-preview",
            "voice": "marin",
        },
        "http://127.0.0.1:9",
    )
    assert params == {
        "api_version": "2025-04-01-preview",
        "voice": "marin",
        "api_base": "http://127.0.0.1:9",
        "api_key": DUMMY_API_KEY,
    }


async def test_lifespan_serves_each_vendor(caplog: pytest.LogCaptureFixture) -> None:
    models = [
        ModelConfig(name="o", provider="openai-realtime", model="gpt-realtime-2"),
        ModelConfig(name="a", provider="azure-realtime", model="my-deployment"),
        ModelConfig(name="x", provider="xai-realtime", model="grok-voice-think-fast-1.0"),
        ModelConfig(name="nova", provider="bedrock-sonic", model="amazon.nova-2-sonic-v1:0"),
    ]
    settings = ServeSettings(models=models, args=argparse.Namespace(emulator=True))
    with caplog.at_level(logging.WARNING):
        async with run_emulator(settings):
            assert "EMULATED REPLIES: models o, a, x answer from the local OpenAI" in caplog.text
            assert settings.models[3] is models[3]
            openai, azure, xai = (m.params for m in settings.models[:3])
            assert str(openai["api_base"]).endswith("/v1")
            assert str(xai["api_base"]).endswith("/xai/v1")
            ws = str(openai["api_base"]).replace("http", "ws", 1)
            client = AsyncOpenAI(api_key=str(openai["api_key"]), websocket_base_url=ws)
            async with client.realtime.connect(model="gpt-realtime-2") as conn:
                await text_session(conn)
                await say_text(conn, "Hi")
                await conn.response.create()
                done = await until(conn, "response.done")
                assert done.response.output[0].content[0].text == "You said: Hi"
            azure_client = AsyncOpenAI(
                api_key=str(azure["api_key"]), base_url=f"{azure['api_base']}/openai/v1/"
            )
            async with azure_client.realtime.connect(model="my-deployment") as conn:
                await until(conn, "session.created")


async def test_lifespan_without_such_models_starts_nothing() -> None:
    nova = ModelConfig(name="nova", provider="bedrock-sonic", model="amazon.nova-2-sonic-v1:0")
    settings = ServeSettings(models=[nova], args=argparse.Namespace(emulator=True))
    async with run_emulator(settings):
        assert settings.models == [nova]


def test_the_emulator_proper_imports_neither_the_core_nor_a_provider() -> None:
    code = (
        "import sys, rtcore_openai_emulator.server, rtcore_openai_emulator.cli;"
        "print(sorted(m for m in sys.modules if m == 'rtcore' or m.startswith(('rtcore.', "
        "'rtcore_bedrock_sonic', 'rtcore_gemini', 'rtcore_sonic', 'rtcore_openai_realtime'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_python_m_serves_until_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "rtcore_openai_emulator", "--port", "0"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        base_url = line.split(": ", 1)[1].strip()
        assert base_url.startswith("http://127.0.0.1:")
        client = AsyncOpenAI(
            api_key="k", websocket_base_url=base_url.replace("http", "ws", 1) + "/v1"
        )
        async with client.realtime.connect(model=MODEL) as conn:
            await text_session(conn)
            await say_text(conn, "Hi")
            await conn.response.create()
            done = await until(conn, "response.done")
            assert done.response.output[0].content[0].text == "You said: Hi"
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
