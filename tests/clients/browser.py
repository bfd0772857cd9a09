"""Headless Chromium driven over the DevTools protocol, with a fake microphone.

Only what the playground test needs: start the browser on a page, evaluate JavaScript in
it, stop the browser. The DevTools socket is spoken with the ``websockets`` package.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import urllib.request
import wave
from pathlib import Path
from typing import Any

import numpy as np
from websockets.asyncio.client import ClientConnection, connect

DEVTOOLS = re.compile(r"DevTools listening on (ws://\S+)")


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


def write_speech_wav(path: Path, *, rate: int = 48000) -> None:
    """What the fake microphone plays: quiet, a loud tone (speech to an energy VAD), then
    long enough a silence for the turn to end."""
    t = np.arange(int(rate * 1.2)) / rate
    tone = 0.5 * 32767 * np.sin(2 * np.pi * 300 * t)
    quiet = np.zeros(int(rate * 0.3))
    tail = np.zeros(int(rate * 2.0))
    samples = np.concatenate([quiet, tone, tail]).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())


class Chromium:
    """``async with Chromium(url, mic_wav=...) as page: await page.evaluate("...")``.

    The browser starts on a blank page; entering loads ``url`` and waits for its load
    event, so evaluations never race the navigation."""

    def __init__(
        self,
        executable: str,
        url: str,
        *,
        mic_wav: Path | None,
        flags: tuple[str, ...] = (),
    ) -> None:
        """``mic_wav`` None: no microphone at all (no fake devices)."""
        self.executable = executable
        self.url = url
        self.mic_wav = mic_wav
        self.flags = flags
        self.stderr: list[str] = []
        # Every HTTP response the page got: (url, status).
        self.responses: list[tuple[str, int]] = []
        self._ids = itertools.count(1)
        self._events: set[str] = set()

    async def __aenter__(self) -> Chromium:
        self._profile = tempfile.TemporaryDirectory(prefix="rtcore-chromium-")
        self.proc = self._launch()
        found = threading.Event()
        self._browser_ws = ""

        def read() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.stderr.append(line)
                if (m := DEVTOOLS.search(line)) and not found.is_set():
                    self._browser_ws = m.group(1)
                    found.set()
            found.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        if not await asyncio.to_thread(found.wait, 30) or not self._browser_ws:
            await self._stop()
            raise AssertionError("Chromium did not start:\n" + "".join(self.stderr))
        self.ws = await connect(await self._page_socket(), proxy=None, max_size=None)
        await self.call("Page.enable")
        await self.call("Network.enable")
        await self.call("Page.navigate", url=self.url)
        async with asyncio.timeout(15):
            while "Page.loadEventFired" not in self._events:
                await self._receive()
        return self

    # WebRTC on loopback: Chromium offers loopback candidates and plain addresses (not mDNS
    # names) only when asked.
    WEBRTC_LOOPBACK = (
        "--allow-loopback-in-peer-connection",
        "--disable-features=WebRtcHideLocalIpsWithMdns",
    )

    def _launch(self) -> subprocess.Popen[str]:
        # Chromium keeps its singleton socket in a directory of its own under TMPDIR and
        # leaves it behind when stopped: inside the profile, it goes with the profile.
        scratch = Path(self._profile.name) / "tmp"
        scratch.mkdir()
        return subprocess.Popen(
            [
                self.executable,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--autoplay-policy=no-user-gesture-required",
                *self._media_flags(),
                f"--user-data-dir={self._profile.name}",
                "--remote-debugging-port=0",
                *self.flags,
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TMPDIR": str(scratch)},
        )

    def _media_flags(self) -> list[str]:
        if self.mic_wav is None:
            return ["--use-fake-ui-for-media-stream"]
        return [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            # %noloop: play the file once, then silence (the turn must end).
            f"--use-file-for-fake-audio-capture={self.mic_wav}%noloop",
        ]

    async def _page_socket(self) -> str:
        """The DevTools socket of the page opened on ``url``."""
        port = self._browser_ws.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]
        listing = f"http://127.0.0.1:{port}/json/list"
        async with asyncio.timeout(15):
            while True:
                text = await asyncio.to_thread(
                    lambda: urllib.request.urlopen(listing, timeout=5).read()
                )
                pages = [t for t in json.loads(text) if t.get("type") == "page"]
                if pages:
                    return str(pages[0]["webSocketDebuggerUrl"])
                await asyncio.sleep(0.1)

    async def _receive(self) -> dict[str, Any]:
        ws: ClientConnection = self.ws
        message: dict[str, Any] = json.loads(await ws.recv())
        if "method" in message:  # an event; only their names are kept, and responses
            self._events.add(message["method"])
            if message["method"] == "Network.responseReceived":
                response = message["params"]["response"]
                self.responses.append((response["url"], int(response["status"])))
        return message

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        await self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = await self._receive()
            if message.get("id") == ident:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return dict(message["result"])

    async def evaluate(self, expression: str, *, user_gesture: bool = False) -> Any:
        """The JSON value of ``expression`` (awaited if it is a promise)."""
        result = await self.call(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
            userGesture=user_gesture,
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"page error: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def screenshot(self) -> bytes:
        """The page as it looks now, a PNG."""
        result = await self.call("Page.captureScreenshot", format="png")
        return base64.b64decode(result["data"])

    async def _stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            await asyncio.to_thread(self.proc.wait, 10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait, 5)
        self._reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        self._profile.cleanup()

    async def __aexit__(self, *exc: object) -> None:
        if hasattr(self, "ws"):
            await self.ws.close()
        await self._stop()
