"""@openai/agents-realtime's WebRTC transport in headless Chromium, pointed at rtcore,
with an ephemeral client secret, as a browser app runs it: the fake microphone's turn is
heard and answered in voice (the reply's audio arrives on the call's track, not silent),
a typed turn is answered, a tool call round-trips through the SDK's own tool runner; on
the echo test model and on each provider upstream (tests/clients/conftest.py).

The page and the SDK's browser bundle are served from the gateway's own origin by the
test plugin (``RTCORE_ECHO_STATIC``). Chromium is told to offer loopback candidates and
plain IP addresses (not mDNS names), since the gateway answers on loopback.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import wave
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from tests.clients.browser import Chromium, find_chromium, write_speech_wav
from tests.clients.conftest import CURRENT, Upstream, serve_upstream, skip_refused
from tests.transports.process import Served

CHROMIUM = find_chromium()
BUNDLE = (
    Path(__file__).parent / "node" / "node_modules" / "@openai" / "agents-realtime" / "dist"
) / "bundle"
pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)",
    ),
    # Its default session asks for semantic_vad turn detection.
    pytest.mark.client_sends("semantic_vad", "@openai/agents-realtime"),
]
KEY = "sk-agents-webrtc"
FLAGS = Chromium.WEBRTC_LOOPBACK
# The SDK opens the microphone, and the fake one starts playing, before it offers the call;
# the speech starts this long after, so that it is all sent once the call is up. (A first
# call loads the server's WebRTC media stack: seen taking 1.5 s on a loaded machine, and
# the speech that played before was never heard.)
CALL_SET_UP = 4.0


@pytest.fixture(scope="module", params=CURRENT, ids=str)
def upstream(request: pytest.FixtureRequest) -> Upstream:
    """The current upstreams (this client never ran on the retired Nova v1)."""
    up: Upstream = request.param
    skip_refused(up, request.node)
    return up


def env_for(where: Path) -> dict[str, str]:
    return {"RTCORE_MASTER_KEY": KEY, "RTCORE_ECHO_STATIC": str(static_dir(where))}


@asynccontextmanager
async def serve_echo(tmp_path: Path) -> AsyncIterator[Served]:
    async with Served("--provider", "echo", env=env_for(tmp_path)) as served:
        yield served


@pytest.fixture(scope="module")
def served_static(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``rtcore serve`` for ``upstream`` serving the page and the SDK's bundle."""
    where = tmp_path_factory.mktemp(f"agents-webrtc-{upstream.id}")
    with serve_upstream(upstream, where, env=env_for(where)) as served:
        yield served


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


async def converse(
    served: Served, model: str, tmp_path: Path, heard: str, spoken: str, typed: str
) -> None:
    """The fake microphone's turn (transcribed as ``heard``, a regular expression) is
    answered in voice with ``spoken``; a typed "Hello there" is answered with ``typed``; a
    typed question about the weather runs the SDK's tool, and the answer quotes its result."""
    assert CHROMIUM is not None
    mic = tmp_path / "speech.wav"
    write_speech_wav(mic, lead_in=CALL_SET_UP)
    secret = await mint(served.port, model)
    url = f"http://127.0.0.1:{served.port}/echo/static/index.html?model={model}&secret={secret}"
    async with Chromium(CHROMIUM, url, mic_wav=mic, flags=FLAGS) as page:
        try:
            await until(page, "window.agentsWebrtc.connected")
            played = await until(
                page,
                "window.agentsWebrtc.events.includes('output_audio_buffer.stopped')",
                within=40,
            )
            assert "input_audio_buffer.speech_started" in played["events"]
            assert "response.done" in played["events"]
            assert played["loudness"] > 0.01, played
            first = await until(page, answers(1))
            (user, answer) = first["history"][:2]
            assert user["role"] == "user"
            assert re.fullmatch(heard, user["text"]), first["history"]
            assert (answer["role"], answer["text"]) == ("assistant", spoken)

            await page.evaluate('window.agentsSession.sendMessage("Hello there")')
            second = await until(page, answers(2))
            assert [(m["role"], m["text"]) for m in second["history"][2:4]] == [
                ("user", "Hello there"),
                ("assistant", typed),
            ]

            # A typed turn asks for the weather: the SDK runs its tool and answers.
            await page.evaluate(
                'window.agentsSession.sendMessage("What\'s the current weather in Paris?")'
            )
            done = await until(page, "window.agentsWebrtc.tools.length > 0")
            assert "Paris" in done["tools"][0]
            third = await until(page, answers(3))
        except AssertionError:
            print(await state(page), "".join(page.stderr)[-3000:], served.stderr)
            raise
    assert third["tools"] == done["tools"]
    assert "cloudy" in third["history"][-1]["text"], third["history"]
    assert third["history"][-1]["role"] == "assistant"


def answers(count: int) -> str:
    """The page's check: ``count`` assistant messages completed."""
    return (
        "window.agentsWebrtc.history.filter("
        f"m => m.role === 'assistant' && m.status === 'completed').length >= {count}"
    )


async def test_agents_realtime_webrtc_in_chromium_on_echo(tmp_path: Path) -> None:
    async with serve_echo(tmp_path) as served:
        await converse(
            served,
            "echo",
            tmp_path,
            r"\(spoken \d+ ms\)",
            "I heard you.",
            "You said: Hello there",
        )


async def test_agents_realtime_webrtc_in_chromium_talks_and_calls_a_tool(
    served_static: Served, upstream: Upstream, tmp_path: Path
) -> None:
    heard = upstream.heard(None)
    await converse(
        served_static,
        upstream.name,
        tmp_path,
        re.escape(heard),
        upstream.reply(heard),
        upstream.reply("Hello there"),
    )


def write_barge_in_wav(path: Path, gap: float, rate: int = 48000) -> None:
    """A turn, then speech again ``gap`` seconds later, while the reply plays."""
    t = np.arange(int(rate * 1.0)) / rate
    tone = 0.5 * 32767 * np.sin(2 * np.pi * 300 * t)
    parts = [np.zeros(int(rate * CALL_SET_UP)), tone, np.zeros(int(rate * gap))]
    parts.append(tone[: int(rate * 0.8)])
    parts.append(np.zeros(int(rate * 3.0)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.concatenate(parts).astype("<i2").tobytes())


async def cuts_playback(served: Served, model: str, tmp_path: Path, gap: float) -> None:
    """Speech again ``gap`` seconds after a turn, while its reply plays, cuts the reply."""
    assert CHROMIUM is not None
    mic = tmp_path / "barge-in.wav"
    write_barge_in_wav(mic, gap=gap)
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


async def test_speaking_over_the_reply_in_chromium_cuts_its_playback_on_echo(
    tmp_path: Path,
) -> None:
    # The echo model ends a turn after 0.5 s of quiet.
    async with serve_echo(tmp_path) as served:
        await cuts_playback(served, "echo", tmp_path, gap=0.75)


async def test_speaking_over_the_reply_in_chromium_cuts_its_playback(
    served_static: Served, upstream: Upstream, tmp_path: Path
) -> None:
    # The second speech starts just after the turn has ended, so the reply is playing.
    await cuts_playback(served_static, upstream.name, tmp_path, upstream.turn_end_seconds + 0.2)
