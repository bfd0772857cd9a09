"""@openai/agents-realtime's WebRTC transport in headless Chromium, pointed at rtcore,
with an ephemeral client secret, as a browser app runs it: the fake microphone's turn is
heard and answered in voice (the reply's audio arrives on the call's track, not silent),
a tool call round-trips through the SDK's own tool runner.

The page and the SDK's browser bundle are served from the gateway's own origin by the
test plugin (``RTCORE_ECHO_STATIC``). Chromium is told to offer loopback candidates and
plain IP addresses (not mDNS names), since the gateway answers on loopback.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from tests.bedrock.conftest import V2
from tests.clients.browser import Chromium, find_chromium, write_speech_wav
from tests.clients.conftest import served_by_emulator
from tests.transports.process import Served

CHROMIUM = find_chromium()
BUNDLE = (
    Path(__file__).parent / "node" / "node_modules" / "@openai" / "agents-realtime" / "dist"
) / "bundle"
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)",
)
KEY = "sk-agents-webrtc"
SERVERS = ["echo", "bedrock-emulator"]
FLAGS = Chromium.WEBRTC_LOOPBACK


@asynccontextmanager
async def serve(server: str, tmp_path: Path) -> AsyncIterator[tuple[Served, str]]:
    """The echo model, or the Bedrock provider on the Nova Sonic emulator; the model name."""
    env = {"RTCORE_MASTER_KEY": KEY, "RTCORE_ECHO_STATIC": str(static_dir(tmp_path))}
    if server == "echo":
        async with Served("--provider", "echo", env=env) as served:
            yield served, "echo"
    else:
        async with served_by_emulator(tmp_path, V2, env) as served:
            yield served, "nova"


def static_dir(tmp_path: Path) -> Path:
    root = tmp_path / "static"
    root.mkdir()
    for path in BUNDLE.glob("*.mjs"):
        shutil.copy(path, root / path.name)
    shutil.copy(Path(__file__).parent / "agents_webrtc.html", root / "index.html")
    return root


async def mint(port: int, model: str) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{port}/v1/realtime/client_secrets",
            json={"session": {"type": "realtime", "model": model}},
            headers={"Authorization": f"Bearer {KEY}"},
        ) as answer,
    ):
        assert answer.status == 200, await answer.text()
        return str((await answer.json())["value"])


async def state(page: Chromium) -> dict[str, Any]:
    value = await page.evaluate("JSON.stringify(window.agentsWebrtc || {})")
    return dict(json.loads(value))


async def until(page: Chromium, check: str, within: float = 30.0) -> dict[str, Any]:
    """The page's state once ``check`` holds on it."""
    try:
        async with asyncio.timeout(within):
            while True:
                current = await state(page)
                if current.get("error"):
                    raise AssertionError(f"page error: {current['error']}")
                if await page.evaluate(f"Boolean(window.agentsWebrtc && ({check}))"):
                    return await state(page)
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"{check} never held; the page: {await state(page)}") from None


@pytest.mark.parametrize("server", SERVERS)
async def test_agents_realtime_webrtc_in_chromium_talks_and_calls_a_tool(
    tmp_path: Path, server: str
) -> None:
    assert CHROMIUM is not None
    mic = tmp_path / "speech.wav"
    write_speech_wav(mic)
    async with serve(server, tmp_path) as (served, model):
        secret = await mint(served.port, model)
        url = f"http://127.0.0.1:{served.port}/echo/static/index.html?model={model}&secret={secret}"
        async with Chromium(CHROMIUM, url, mic_wav=mic, flags=FLAGS) as page:
            try:
                await until(page, "window.agentsWebrtc.connected")
                heard = await until(
                    page,
                    "window.agentsWebrtc.events.includes('output_audio_buffer.stopped')",
                    within=40,
                )
            except AssertionError:
                print(await state(page), "".join(page.stderr)[-3000:], served.stderr)
                raise
            assert "input_audio_buffer.speech_started" in heard["events"]
            assert "response.done" in heard["events"]
            assert heard["loudness"] > 0.01, heard
            # A typed turn asks for the weather: the SDK runs its tool and answers.
            await page.evaluate(
                'window.agentsSession.sendMessage("What\'s the current weather in Paris?")'
            )
            done = await until(page, "window.agentsWebrtc.tools.length > 0")
            assert "Paris" in done["tools"][0]
            await until(
                page,
                "window.agentsWebrtc.events.filter(e => e === 'response.done').length >= 3",
            )


def write_barge_in_wav(path: Path, gap: float, rate: int = 48000) -> None:
    """A turn, then speech again ``gap`` seconds later, while the reply plays."""
    t = np.arange(int(rate * 1.0)) / rate
    tone = 0.5 * 32767 * np.sin(2 * np.pi * 300 * t)
    parts = [np.zeros(int(rate * 0.3)), tone, np.zeros(int(rate * gap)), tone[: int(rate * 0.8)]]
    parts.append(np.zeros(int(rate * 3.0)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.concatenate(parts).astype("<i2").tobytes())


@pytest.mark.parametrize("server", SERVERS)
async def test_speaking_over_the_reply_in_chromium_cuts_its_playback(
    tmp_path: Path, server: str
) -> None:
    assert CHROMIUM is not None
    mic = tmp_path / "barge-in.wav"
    # The echo model ends a turn after 0.5 s of quiet, Nova (the emulator) after more.
    write_barge_in_wav(mic, gap=0.75 if server == "echo" else 2.2)
    async with serve(server, tmp_path) as (served, model):
        secret = await mint(served.port, model)
        url = f"http://127.0.0.1:{served.port}/echo/static/index.html?model={model}&secret={secret}"
        async with Chromium(CHROMIUM, url, mic_wav=mic, flags=FLAGS) as page:
            cut = await until(
                page, "window.agentsWebrtc.events.includes('output_audio_buffer.cleared')"
            )
            events = cut["events"]
            assert events.index("output_audio_buffer.started") < events.index(
                "output_audio_buffer.cleared"
            )
            truncated = await until(
                page, "window.agentsWebrtc.events.includes('conversation.item.truncated')"
            )
            assert "conversation.item.truncated" in truncated["events"]
