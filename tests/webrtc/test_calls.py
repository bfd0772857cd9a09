"""WebRTC calls (``POST /v1/realtime/calls``) from an aiortc client, as a browser makes
them, against ``rtcore serve`` (a real process; ICE on loopback): the events channel, the
reply as Opus on the audio track, the microphone heard, barge-in, hang-up."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.transports.process import Served
from tests.transports.turns import user_turn
from tests.webrtc.peer import Peer, tone

KEY = "sk-webrtc-test"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async with Served("--provider", "echo", env={"RTCORE_MASTER_KEY": KEY}) as server:
        yield server


async def _closed(ws: ClientConnection, within: float) -> bool:
    """Whether the server closes ``ws`` within the time (what it sends meanwhile is read)."""
    try:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()
    except ConnectionClosed:
        return True
    except TimeoutError:
        return False


def base(served: Served) -> str:
    return f"http://127.0.0.1:{served.port}"


async def test_a_typed_turn_is_answered_in_voice_on_the_audio_track(served: Served) -> None:
    peer = Peer()
    try:
        answer = await peer.call(base(served), KEY, model="echo")
        assert answer.status == 201
        assert answer.content_type == "application/sdp"
        assert peer.location is not None
        assert peer.location.startswith("/v1/realtime/calls/rtc_")
        created = await peer.until("session.created")
        assert created["session"]["model"] == "echo"
        for event in user_turn("Hello!", ["audio", "text"]):
            await peer.send(event)
        started = await peer.until("output_audio_buffer.started")
        done = await peer.until("response.done")
        assert done["response"]["status"] == "completed"
        assert started["response_id"] == done["response"]["id"]
        stopped = await peer.until("output_audio_buffer.stopped", within=20)
        assert stopped["response_id"] == done["response"]["id"]
        # The reply went out as audio, not as events.
        kinds = peer.kinds()
        assert not any(k.endswith("audio.delta") for k in kinds), kinds
        assert any(k.endswith("audio_transcript.delta") for k in kinds), kinds
        assert peer.loudness() > 300  # the echo model's reply tone, through Opus
    finally:
        await peer.close()


async def test_a_spoken_turn_is_heard_and_barge_in_stops_playback(served: Served) -> None:
    peer = Peer()
    try:
        assert (await peer.call(base(served), KEY, model="echo")).status == 201
        await peer.until("session.created")
        await peer.opened()
        peer.mic.say(tone(0.8))
        await peer.until("input_audio_buffer.speech_started")
        await peer.until("input_audio_buffer.speech_stopped")
        started = await peer.until("output_audio_buffer.started")
        # Speak over the reply while it plays.
        await asyncio.sleep(0.3)
        mark = len(peer.events)
        peer.mic.say(tone(0.8))
        cleared = await peer.until("output_audio_buffer.cleared", after=mark)
        assert cleared["response_id"] == started["response_id"]
        # The reply's item is cut where playback stopped: the model knows what was heard.
        truncated = await peer.until("conversation.item.truncated", after=mark)
        assert 200 <= truncated["audio_end_ms"] <= 2000, truncated
        assert (
            "output_audio_buffer.stopped"
            not in [e["type"] for e in peer.events[mark:]][
                : [e["type"] for e in peer.events[mark:]].index("output_audio_buffer.cleared")
            ]
        )
    finally:
        await peer.close()


async def test_hang_up_ends_the_call(served: Served) -> None:
    peer = Peer()
    try:
        assert (await peer.call(base(served), KEY, model="echo")).status == 201
        await peer.until("session.created")
        assert peer.location is not None
        async with (
            aiohttp.ClientSession() as http,
            http.delete(
                base(served) + peer.location, headers={"Authorization": f"Bearer {KEY}"}
            ) as answer,
        ):
            assert answer.status == 200
        closed = asyncio.Event()
        peer.channel.on("close", closed.set)
        async with asyncio.timeout(10):
            await closed.wait()
    finally:
        await peer.close()
    assert any("session ended" in line for line in served.lines), served.stderr


async def test_offers_are_refused_clearly(served: Served) -> None:
    peer, other = Peer(), Peer()
    try:
        assert (await peer.call(base(served), "sk-wrong", model="echo")).status == 401
        assert peer.refusal["error"]["code"] == "invalid_api_key"
        assert (await other.call(base(served), KEY, model="nope")).status == 404
    finally:
        await peer.close()
        await other.close()
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            base(served) + "/v1/realtime/calls",
            data=b"not sdp",
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/sdp"},
        ) as answer,
    ):
        assert answer.status == 400
        assert (await answer.json())["error"]["code"] == "invalid_offer"


@pytest.mark.parametrize("multipart", [True, False])
async def test_the_session_part_of_a_form_offer_configures_the_session(
    served: Served, multipart: bool
) -> None:
    peer = Peer()
    try:
        session = {"type": "realtime", "model": "echo", "instructions": "Be brief."}
        answer = await peer.call(base(served), KEY, session=session, multipart=multipart)
        assert answer.status == 201
        await peer.until("session.created")
        updated = await peer.until("session.updated")
        assert updated["session"]["instructions"] == "Be brief."
    finally:
        await peer.close()


async def test_events_sent_as_the_channel_opens_reach_a_session_still_opening(
    tmp_path: Path,
) -> None:
    """@openai/agents-realtime sends its session.update the moment the events channel
    opens; with an upstream slow to connect the session is not up yet, and the update must
    still take effect (it was dropped)."""
    config = tmp_path / "config.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: slow\n"
        "    litellm_params: {model: echo/echo-1, open_delay_ms: 1500}\n"
    )
    peer = Peer()
    async with Served("--config", str(config), env={"RTCORE_MASTER_KEY": KEY}) as served:
        try:
            assert (await peer.call(base(served), KEY, model="slow")).status == 201
            await peer.opened()
            update = {"type": "realtime", "instructions": "Be brief.", "tools": [WEATHER]}
            await peer.send({"type": "session.update", "session": update})
            await peer.send({"type": "session.update", "session": {"type": "realtime"}})
            created = await peer.until("session.created")
            first = await peer.until("session.updated")
            second = await peer.until("session.updated")
        finally:
            await peer.close()
    # Before the session began: its first event came after the update was sent.
    assert peer.kinds().index("session.created") == 0
    assert created["session"]["instructions"] == ""
    for updated in (first, second):
        assert updated["session"]["instructions"] == "Be brief."
        assert [t["name"] for t in updated["session"]["tools"]] == ["get_weather"]


async def test_a_server_controls_a_live_call_over_the_sideband(served: Served) -> None:
    """``wss://.../v1/realtime?call_id=``: the server's own WebSocket to the call."""
    peer = Peer()
    try:
        assert (await peer.call(base(served), KEY, model="echo")).status == 201
        await peer.until("session.created")
        await peer.opened()
        assert peer.location is not None
        call_id = peer.location.rsplit("/", 1)[1]
        url = f"ws://127.0.0.1:{served.port}/v1/realtime?call_id={call_id}"
        headers = {"Authorization": f"Bearer {KEY}"}
        async with connect(url, proxy=None, additional_headers=headers) as control:
            # The server configures the call; the browser's channel sees it too.
            update = {"type": "session.update", "session": {"instructions": "From the server."}}
            await control.send(json.dumps(update))
            seen = json.loads(await asyncio.wait_for(control.recv(), 10))
            assert seen["type"] == "session.updated"
            assert seen["session"]["instructions"] == "From the server."
            updated = await peer.until("session.updated")
            assert updated["session"]["instructions"] == "From the server."
            # The browser's turn: the server sees its events as they go out.
            for event in user_turn("Hello!", ["text"]):
                await peer.send(event)
            async with asyncio.timeout(10):
                while json.loads(await control.recv())["type"] != "response.done":
                    pass
            # The call ends: so does its sideband.
            await peer.close()
            assert await _closed(control, within=15)
    finally:
        await peer.close()
    # A wrong call id, a client secret or no key get nothing.
    with pytest.raises(InvalidStatus) as unknown:
        async with connect(
            f"ws://127.0.0.1:{served.port}/v1/realtime?call_id=rtc_nope",
            proxy=None,
            additional_headers={"Authorization": f"Bearer {KEY}"},
        ):
            pass
    assert unknown.value.response.status_code == 404
    with pytest.raises(InvalidStatus) as keyless:
        async with connect(
            f"ws://127.0.0.1:{served.port}/v1/realtime?call_id=rtc_nope", proxy=None
        ):
            pass
    assert keyless.value.response.status_code == 401
