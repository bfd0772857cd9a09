"""``rtcore serve --max-calls N``: at most N WebRTC calls at once; more get a 503
``too_many_calls`` (OpenAI's error shape, ``Retry-After``), and a slot frees when a call has
ended. Against ``rtcore serve`` with aiortc clients."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from rtcore_webrtc.plugin import DEFAULT_MAX_CALLS
from tests.transports.process import Served, rtcore
from tests.webrtc.peer import Peer

KEY = "sk-max-calls"


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    env = {"RTCORE_MASTER_KEY": KEY, "XDG_DATA_HOME": str(tmp_path / "data")}
    async with Served("--provider", "echo", "--max-calls", "2", env=env) as server:
        yield server


def base(served: Served) -> str:
    return f"http://127.0.0.1:{served.port}"


def no_common_codec(sdp: str) -> str:
    """An audio section offering only a codec nobody has: aiortc refuses it while answering
    (the fingerprints are fine)."""
    sdp = re.sub(r"^a=(rtpmap|fmtp|rtcp-fb):.*\r?\n", "", sdp, flags=re.M)
    return re.sub(
        r"^(m=audio \d+ \S+) .*?(?=\r?$)", r"\1 120\r\na=rtpmap:120 nonsense/8000", sdp, flags=re.M
    )


async def _call_when_free(served: Served, within: float = 60.0) -> Peer:
    """A call, retried while the server is full (a slot frees once a call has ended and its
    peer connection is closed)."""
    deadline = time.monotonic() + within
    while True:
        peer = Peer()
        answer = await peer.call(base(served), KEY, model="echo")
        if answer.status == 201:
            return peer
        await peer.close()
        assert answer.status == 503, peer.refusal
        assert time.monotonic() < deadline, "no slot freed"
        await asyncio.sleep(0.2)


async def test_calls_past_the_limit_are_refused_until_one_ends(served: Served) -> None:
    peers = [Peer() for _ in range(5)]
    try:
        # Five offers at once: two are answered, whatever the order they are taken in.
        answers = await asyncio.gather(*(p.call(base(served), KEY, model="echo") for p in peers))
        assert sorted(a.status for a in answers) == [201, 201, 503, 503, 503]
        live = [p for p, a in zip(peers, answers, strict=True) if a.status == 201]
        for peer, answer in zip(peers, answers, strict=True):
            if answer.status == 503:
                assert peer.refusal["error"] == {
                    "type": "server_error",
                    "code": "too_many_calls",
                    "message": "This server is carrying its limit of 2 calls at once; "
                    "call again later.",
                    "param": None,
                    "event_id": None,
                }
                assert answer.headers["Retry-After"] == "5"
        for peer in live:
            await peer.until("session.created", within=60)
        # One hangs up: its slot is free once the call has ended.
        assert live[0].location is not None
        async with (
            aiohttp.ClientSession() as http,
            http.delete(
                base(served) + live[0].location, headers={"Authorization": f"Bearer {KEY}"}
            ) as hung_up,
        ):
            assert hung_up.status == 200
        again = await _call_when_free(served)
        peers.append(again)
        await again.until("session.created", within=60)
        # And the server is full again.
        extra = Peer()
        peers.append(extra)
        assert (await extra.call(base(served), KEY, model="echo")).status == 503
    finally:
        for peer in peers:
            await peer.close()
    # Said once per spell of refusals (3 at first, 1 after a call ended), not per offer.
    said = [line for line in served.lines if "refusing calls: 2 at once" in line]
    assert len(said) == 2, said


async def test_an_offer_refused_while_answering_gives_its_slot_back(served: Served) -> None:
    peers = []
    try:
        for _ in range(3):  # more than the two slots
            refused = Peer()
            peers.append(refused)
            answer = await refused.call(base(served), KEY, model="echo", rewrite=no_common_codec)
            assert answer.status == 400
            assert refused.refusal["error"]["code"] == "invalid_offer"
        for _ in range(2):
            peer = Peer()
            peers.append(peer)
            assert (await peer.call(base(served), KEY, model="echo")).status == 201
    finally:
        for peer in peers:
            await peer.close()


def test_the_option_is_the_webrtc_plugins_and_checked() -> None:
    shown = rtcore("serve", "--help")
    assert shown.returncode == 0
    assert "--max-calls N" in shown.stdout
    assert f"(default {DEFAULT_MAX_CALLS})" in " ".join(shown.stdout.split())
    for wrong in ("0", "-3", "many"):
        refused = rtcore("serve", "--provider", "echo", "--max-calls", wrong)
        assert refused.returncode == 2
        assert "--max-calls" in refused.stderr
        assert "Traceback" not in refused.stderr
    listed = rtcore("plugins")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    hooks = lines[[line.split()[0] if line.strip() else "" for line in lines].index("webrtc") + 1]
    assert "rtcore_add_serve_arguments" in hooks
