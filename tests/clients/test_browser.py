"""The browser playground served at ``/``, in headless Chromium with a fake microphone:
over WebSocket (``?transport=websocket``), and over WebRTC with a client secret (the
default), with and without a microphone; on the echo test model and on each provider
upstream (tests/clients/conftest.py).

Chromium plays a WAV file as the microphone (a loud tone, then silence: a turn to an energy
VAD). The page captures it with an AudioWorklet, streams PCM16 at 24 kHz over
``/v1/realtime`` (authenticated with the ``openai-insecure-api-key.`` subprotocol), plays
the reply with Web Audio and shows the transcript. The test reads what the page exposes on
``window.rtcorePlayground`` through the DevTools protocol.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.clients.browser import Chromium, find_chromium, write_speech_wav
from tests.clients.conftest import Upstream, serve_upstream
from tests.transports.process import Served, rtcore

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)",
)

KEY = "sk-browser-test"


def emulator_flag() -> bool:
    return "--emulator" in rtcore("serve", "--help").stdout


# What each server's model transcribes the fake microphone's turn as: the echo model
# reports its length; an upstream's emulator hears any non-tone-code speech as one line.
HEARD = {
    "echo": r"\(spoken \d+ ms\)",
    "serve-emulator": r"Hello, can you hear me\?",
}


@asynccontextmanager
async def serve(server: str, tmp_path: Path) -> AsyncIterator[tuple[Served, str]]:
    """``rtcore serve`` for one variant, and the model name to ask for."""
    env = {"RTCORE_MASTER_KEY": KEY}
    if server == "echo":
        with Served("--provider", "echo", env=env) as served:
            yield served, "echo"
    else:
        if not emulator_flag():
            pytest.skip("this rtcore has no 'serve --emulator' yet")
        with Served("--provider", "bedrock-sonic", "--emulator", env=env) as served:
            yield served, "bedrock-sonic"


@pytest.fixture(scope="module")
def served_with_key(
    upstream: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """``rtcore serve`` for ``upstream``, behind a master key, as a public page's would be."""
    where = tmp_path_factory.mktemp(f"browser-{upstream.id}")
    with serve_upstream(upstream, where, env={"RTCORE_MASTER_KEY": KEY}) as served:
        yield served


async def wait_for(page: Chromium, expression: str, seconds: float = 15) -> Any:
    """The first truthy value of ``expression``, polled inside the page."""
    poll = (
        "new Promise(resolve => { const check = () => { const v = (" + expression + ");"
        " if (v) resolve(v); else setTimeout(check, 50); }; check(); })"
    )
    async with asyncio.timeout(seconds):
        return await page.evaluate(poll)


async def talks_over_websocket(
    tmp_path: Path, served: Served, model: str, heard: str, answer: str | None
) -> None:
    """The playground's spoken turn over a WebSocket: ``heard`` (a regular expression) is
    the user's transcript shown, ``answer`` (when known) the assistant's."""
    assert CHROMIUM is not None
    mic = tmp_path / "mic.wav"
    write_speech_wav(mic)
    url = f"http://127.0.0.1:{served.port}/?model={model}&key={KEY}&transport=websocket"
    async with Chromium(CHROMIUM, url, mic_wav=mic) as page:
        # The model picker was filled from GET /v1/models (behind the key).
        await wait_for(page, "window.rtcorePlayground && window.rtcorePlayground.modelsLoaded")
        models = await page.evaluate(
            "[...document.querySelectorAll('#model option')].map(o => o.value)"
        )
        assert model in models
        assert await page.evaluate("document.getElementById('model').value") == model
        # The voice picker offers that model's voices.
        voices = await page.evaluate("window.rtcorePlayground.voices")
        if model == "echo":
            assert voices == ["alloy", "echo-voice"]
        else:
            assert voices

        await page.evaluate("document.getElementById('connect').click()", user_gesture=True)
        await wait_for(
            page,
            "window.rtcorePlayground.responsesDone > 0 "
            "&& window.rtcorePlayground.samplesScheduled > 0",
            seconds=20,
        )
        state = await page.evaluate("JSON.parse(JSON.stringify(window.rtcorePlayground))")
        shown = await page.evaluate("document.getElementById('transcript').innerText")
        log = await page.evaluate("document.getElementById('log').innerText")

    assert state["errors"] == [], state["errors"]
    assert state["samplesCaptured"] > 24000  # over a second of microphone audio was sent
    # A reply was scheduled for playback: at least half a second of 24 kHz audio.
    assert state["samplesScheduled"] > 12000
    roles = [(e["role"], e["text"]) for e in state["transcript"]]
    assert roles[0][0] == "user"
    assert re.fullmatch(heard, roles[0][1]), roles
    assert roles[1][0] == "assistant"
    assert roles[1][1].strip()
    if answer is not None:
        assert roles[1][1] == answer
    # The page shows what it recorded: the transcript and the event log.
    assert roles[1][1] in shown
    assert "input_audio_buffer.speech_started" in log
    assert "response.done" in log
    assert {"session.created", "session.updated", "response.output_audio.delta"} <= set(
        state["eventTypes"]
    )
    assert "Traceback" not in served.stderr


@pytest.mark.parametrize("server", HEARD)
async def test_playground_talks_and_plays_the_reply(server: str, tmp_path: Path) -> None:
    answer = "I heard you." if server == "echo" else None
    async with serve(server, tmp_path) as (served, model):
        await talks_over_websocket(tmp_path, served, model, HEARD[server], answer)


async def test_playground_talks_and_plays_the_reply_on_each_upstream(
    served_with_key: Served, upstream: Upstream, tmp_path: Path
) -> None:
    heard = upstream.heard(None)
    await talks_over_websocket(
        tmp_path, served_with_key, upstream.name, re.escape(heard), upstream.reply(heard)
    )


async def talks_over_webrtc(
    tmp_path: Path, served: Served, model: str, heard: str, answer: str | None
) -> None:
    """The default: a client secret minted from the key, the call on WebRTC."""
    assert CHROMIUM is not None
    mic = tmp_path / "mic.wav"
    write_speech_wav(mic)
    url = f"http://127.0.0.1:{served.port}/?model={model}&key={KEY}"
    async with Chromium(CHROMIUM, url, mic_wav=mic, flags=Chromium.WEBRTC_LOOPBACK) as page:
        await wait_for(page, "window.rtcorePlayground && window.rtcorePlayground.modelsLoaded")
        await page.evaluate("document.getElementById('connect').click()", user_gesture=True)
        await wait_for(
            page,
            "window.rtcorePlayground.responsesDone > 0 && window.rtcorePlayground.loudness > 0.01",
            seconds=25,
        )
        state = await page.evaluate("JSON.parse(JSON.stringify(window.rtcorePlayground))")
    assert state["errors"] == [], state["errors"]
    assert state["transport"] == "webrtc"
    roles = [(e["role"], e["text"]) for e in state["transcript"]]
    assert roles[0][0] == "user"
    assert re.fullmatch(heard, roles[0][1]), roles
    assert roles[1][0] == "assistant"
    assert roles[1][1].strip()
    if answer is not None:
        assert roles[1][1] == answer
    # Played by the server on the call: no audio deltas, its playback events instead.
    assert "response.output_audio.delta" not in state["eventTypes"]
    assert "output_audio_buffer.started" in state["eventTypes"]
    # The key opened no session itself: only the secret did (a call, not a socket).
    assert "POST /v1/realtime/client_secrets" in served.stderr
    assert "Traceback" not in served.stderr


async def test_playground_talks_over_webrtc_with_a_client_secret(tmp_path: Path) -> None:
    async with serve("echo", tmp_path) as (served, model):
        await talks_over_webrtc(tmp_path, served, model, HEARD["echo"], None)


async def test_playground_talks_over_webrtc_on_each_upstream(
    served_with_key: Served, upstream: Upstream, tmp_path: Path
) -> None:
    heard = upstream.heard(None)
    await talks_over_webrtc(
        tmp_path, served_with_key, upstream.name, re.escape(heard), upstream.reply(heard)
    )


async def talks_by_text(served: Served, model: str) -> list[tuple[str, str]]:
    """No microphone: the page says to type, a typed message is answered; the transcript."""
    assert CHROMIUM is not None
    url = f"http://127.0.0.1:{served.port}/?model={model}&key={KEY}"
    async with Chromium(CHROMIUM, url, mic_wav=None, flags=Chromium.WEBRTC_LOOPBACK) as page:
        await wait_for(page, "window.rtcorePlayground && window.rtcorePlayground.modelsLoaded")
        await page.evaluate("document.getElementById('connect').click()", user_gesture=True)
        await wait_for(page, "window.rtcorePlayground.status.includes('type instead')")
        await page.evaluate(
            "document.getElementById('text').value = 'Hello there';"
            "document.getElementById('send').click()"
        )
        await wait_for(page, "window.rtcorePlayground.responsesDone > 0", seconds=20)
        state = await page.evaluate("JSON.parse(JSON.stringify(window.rtcorePlayground))")
    assert state["errors"] == [], state["errors"]
    assert state["transport"] == "webrtc"
    roles = [(e["role"], e["text"]) for e in state["transcript"]]
    assert [role for role, _ in roles][:2] == ["user", "assistant"]
    assert roles[0] == ("user", "Hello there")
    return roles


async def test_playground_without_a_microphone_talks_by_text(tmp_path: Path) -> None:
    async with serve("echo", tmp_path) as (served, model):
        await talks_by_text(served, model)


async def test_playground_without_a_microphone_talks_by_text_on_each_upstream(
    served_with_key: Served, upstream: Upstream
) -> None:
    roles = await talks_by_text(served_with_key, upstream.name)
    assert roles[1] == ("assistant", upstream.reply("Hello there"))
    assert "Traceback" not in served_with_key.stderr


# Where the picture of the playground that docs/clients.md shows is written when asked
# (RTCORE_PLAYGROUND_SCREENSHOT=docs/playground.png); every run takes one in its tmp_path.
SCREENSHOT_VARIABLE = "RTCORE_PLAYGROUND_SCREENSHOT"


async def test_playground_from_its_own_defaults_answers_a_typed_message(tmp_path: Path) -> None:
    """What a newcomer gets from ``make serve``: the page at ``/`` with nothing in its URL,
    no key, no microphone. The configured model is picked, the message box takes text at
    once, a typed message connects and is answered, and nothing the page loads fails."""
    assert CHROMIUM is not None
    if not emulator_flag():
        pytest.skip("this rtcore has no 'serve --emulator'")
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    with Served("--provider", "bedrock-sonic", "--emulator", env=env) as served:
        url = f"http://127.0.0.1:{served.port}/"
        flags = (*Chromium.WEBRTC_LOOPBACK, "--window-size=1000,720", "--hide-scrollbars")
        async with Chromium(CHROMIUM, url, mic_wav=None, flags=flags) as page:
            await wait_for(page, "window.rtcorePlayground && window.rtcorePlayground.modelsLoaded")
            assert await page.evaluate("document.getElementById('model').value") == (
                "bedrock-sonic"
            )
            ready = "[...['text', 'send']].every(id => !document.getElementById(id).disabled)"
            assert await page.evaluate(ready)
            assert await page.evaluate("window.rtcorePlayground.status") == "disconnected"
            await page.evaluate(
                "document.getElementById('text').value = 'Hello!';"
                "document.getElementById('send').click()",
                user_gesture=True,
            )
            await wait_for(page, "window.rtcorePlayground.responsesDone > 0", seconds=30)
            # The reply's transcript arrives before its response.done.
            state = await page.evaluate("JSON.parse(JSON.stringify(window.rtcorePlayground))")
            shown = await page.evaluate("document.getElementById('transcript').innerText")
            picture = await page.screenshot()
            responses = list(page.responses)
    assert state["errors"] == [], state["errors"]
    assert state["transport"] == "webrtc"
    assert state["status"] == "connected: type a message"
    roles = [(e["role"], e["text"]) for e in state["transcript"]]
    assert roles[0] == ("user", "Hello!")
    assert roles[1][0] == "assistant"
    assert "Hello" in roles[1][1], roles
    assert roles[1][1] in shown
    # Nothing the page asked for failed (its icon included), and it asked for what it shows.
    assert [r for r in responses if r[1] >= 400] == []
    fetched = {u.split(str(served.port), 1)[-1] for u, _ in responses}
    assert {"/", "/playground/playground.js", "/playground/favicon.svg", "/v1/models"} <= (
        fetched
    ), fetched
    assert "Traceback" not in served.stderr
    assert picture.startswith(b"\x89PNG\r\n\x1a\n")
    await asyncio.to_thread((tmp_path / "playground.png").write_bytes, picture)
    if target := os.environ.get(SCREENSHOT_VARIABLE):
        await asyncio.to_thread(Path(target).write_bytes, picture)


async def test_a_message_typed_first_over_websocket_is_answered_aloud(tmp_path: Path) -> None:
    """``?transport=websocket``, no microphone: typing first connects for playback only;
    the reply's audio is scheduled and its transcript shown."""
    assert CHROMIUM is not None
    async with serve("echo", tmp_path) as (served, model):
        url = f"http://127.0.0.1:{served.port}/?model={model}&key={KEY}&transport=websocket"
        async with Chromium(CHROMIUM, url, mic_wav=None) as page:
            await wait_for(page, "window.rtcorePlayground && window.rtcorePlayground.modelsLoaded")
            await page.evaluate(
                "document.getElementById('text').value = 'Hello there';"
                "document.getElementById('send').click()",
                user_gesture=True,
            )
            await wait_for(page, "window.rtcorePlayground.responsesDone > 0", seconds=20)
            state = await page.evaluate("JSON.parse(JSON.stringify(window.rtcorePlayground))")
    assert state["errors"] == [], state["errors"]
    assert state["transport"] == "websocket"
    assert state["status"] == "connected: type a message"
    assert state["samplesCaptured"] == 0  # the microphone was never asked for
    assert state["samplesScheduled"] > 0
    roles = [(e["role"], e["text"]) for e in state["transcript"]]
    assert roles[0] == ("user", "Hello there")
    assert roles[1][0] == "assistant"
