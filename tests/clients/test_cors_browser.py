"""A browser app on another origin than the gateway's, in headless Chromium: its page
mints a client secret (``fetch`` with the key, as a page of the app's own origin would
from its server) and makes a WebRTC call with it (the offer posted as
@openai/agents-realtime posts it, the call's id read from ``Location``), then hangs up;
Chromium enforces CORS itself. A page of an origin not allowed is refused by the browser.

The pages are served by a small server of the test's on other ports (another port is
another origin)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.clients.browser import Chromium, find_chromium
from tests.transports.process import Served

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)",
)
KEY = "sk-cors-browser"

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>an app on another origin</title>
<script>
  // Mint, call, hang up: every request cross-origin, each answer read as an app reads it.
  window.crossOriginCall = async (gateway, key) => {
    const minted = await fetch(`${gateway}/v1/realtime/client_secrets`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${key}`,
        "Content-Type": "application/json",
        "X-Stainless-Lang": "js",
        "X-Stainless-Retry-Count": "0",
      },
      body: JSON.stringify({ session: { type: "realtime", model: "echo" } }),
    });
    const secret = (await minted.json()).value;
    const pc = new RTCPeerConnection();
    pc.addTransceiver("audio", { direction: "recvonly" });
    const channel = pc.createDataChannel("oai-events");
    const created = new Promise((resolve, reject) => {
      setTimeout(() => reject(new Error("no session.created")), 20000);
      channel.onmessage = (message) => {
        const event = JSON.parse(message.data);
        if (event.type === "session.created") resolve(event);
      };
    });
    await pc.setLocalDescription(await pc.createOffer());
    const answer = await fetch(`${gateway}/v1/realtime/calls`, {
      method: "POST",
      body: pc.localDescription.sdp,
      headers: {
        "Content-Type": "application/sdp",
        Authorization: `Bearer ${secret}`,
        "X-OpenAI-Agents-SDK": "openai-agents-sdk.test",
      },
    });
    const location = answer.headers.get("Location");
    await pc.setRemoteDescription({ type: "answer", sdp: await answer.text() });
    const session = await created;
    const closed = new Promise((resolve) => (channel.onclose = resolve));
    const hangup = await fetch(`${gateway}${location}`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${secret}` },
    });
    await closed;
    pc.close();
    return JSON.stringify({
      minted: minted.status,
      call: answer.status,
      location,
      model: session.session.model,
      hangup: hangup.status,
    });
  };

  // What a page of an origin not allowed gets: the browser's refusal.
  window.tryMinting = async (gateway, key) => {
    try {
      const minted = await fetch(`${gateway}/v1/realtime/client_secrets`, {
        method: "POST",
        headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
        body: "{}",
      });
      return `read ${minted.status}`;
    } catch (error) {
      return `refused: ${error.name}`;
    }
  };
</script>
"""


@asynccontextmanager
async def two_sites() -> AsyncIterator[tuple[int, int]]:
    """The app's page on two loopback ports: two origins."""
    app = web.Application()

    async def page(_: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    app.router.add_get("/", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    for _ in range(2):
        await web.TCPSite(runner, "127.0.0.1", 0).start()
    ports = [address[1] for address in runner.addresses]
    try:
        yield ports[0], ports[1]
    finally:
        await runner.cleanup()


async def navigated(page: Chromium, url: str, port: int) -> None:
    """Navigate, and wait until the new page's script is there."""
    await page.call("Page.navigate", url=url)
    check = "location.port + ':' + String(typeof window.tryMinting)"
    async with asyncio.timeout(15):
        while await page.evaluate(check) != f"{port}:function":  # noqa: ASYNC110 - another process
            await asyncio.sleep(0.1)


async def test_an_app_on_an_allowed_origin_mints_calls_and_hangs_up_in_chromium(
    tmp_path: Path,
) -> None:
    assert CHROMIUM is not None
    async with two_sites() as (allowed, other):
        app = f"http://127.0.0.1:{allowed}"
        env = {"RTCORE_MASTER_KEY": KEY, "XDG_DATA_HOME": str(tmp_path)}
        async with Served("--provider", "echo", "--allowed-origin", app, env=env) as served:
            gateway = f"http://127.0.0.1:{served.port}"
            async with Chromium(
                CHROMIUM, app + "/", mic_wav=None, flags=Chromium.WEBRTC_LOOPBACK
            ) as page:
                try:
                    async with asyncio.timeout(60):
                        result: dict[str, Any] = json.loads(
                            await page.evaluate(f"crossOriginCall({gateway!r}, {KEY!r})")
                        )
                except (AssertionError, TimeoutError):
                    print("".join(page.stderr)[-3000:], served.stderr)
                    raise
                assert result["minted"] == 200
                assert result["call"] == 201
                assert result["location"].startswith("/v1/realtime/calls/rtc_")
                assert result["model"] == "echo"
                assert result["hangup"] == 200

                await navigated(page, f"http://127.0.0.1:{other}/", other)
                refused = await page.evaluate(f"tryMinting({gateway!r}, {KEY!r})")
                assert refused == "refused: TypeError"
    assert f"cross-origin from http://127.0.0.1:{other}" in served.stderr
