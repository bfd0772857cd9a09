"""A WebRTC call in front of Nova Sonic: the real Bedrock provider and SDK over HTTP/2 to
the emulator, an aiortc client speaking Opus. A spoken turn is heard and answered in
voice, a tool call round-trips, and speaking over the reply stops its playback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from rtcore_sonic_emulator import NovaSonicEmulator, utterance_pcm
from tests.bedrock.conftest import V2, emulated_params
from tests.transports.process import Served
from tests.transports.turns import user_turn
from tests.webrtc.peer import RATE, Peer

KEY = "sk-webrtc-bedrock"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get current weather for a location",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
}


@pytest.fixture
async def served(tmp_path: Path, emulator: NovaSonicEmulator) -> AsyncIterator[Served]:
    config = tmp_path / "config.yaml"
    entry = {
        "model_name": "voice",
        "litellm_params": {"model": f"bedrock/{V2}", **emulated_params(emulator)},
    }
    config.write_text(yaml.safe_dump({"model_list": [entry]}))
    async with Served("--config", str(config), env={"RTCORE_MASTER_KEY": KEY}) as server:
        yield server


async def call(served: Served) -> Peer:
    peer = Peer()
    answer = await peer.call(f"http://127.0.0.1:{served.port}", KEY, model="voice")
    assert answer.status == 201, getattr(peer, "refusal", None)
    await peer.until("session.created")
    await peer.opened()
    return peer


async def test_a_spoken_turn_is_heard_and_answered_in_voice(
    served: Served, emulator: NovaSonicEmulator
) -> None:
    peer = await call(served)
    try:
        peer.mic.say(utterance_pcm(0, sample_rate=RATE))  # the emulator hears "Hello."
        await peer.until("input_audio_buffer.speech_started")
        started = await peer.until("output_audio_buffer.started")
        done = await peer.until("response.done", within=30)
        assert done["response"]["status"] == "completed"
        await peer.until("output_audio_buffer.stopped", within=30)
        assert started["response_id"] == done["response"]["id"]
        assert peer.loudness() > 300, "the reply's audio did not arrive"
        transcripts = [e for e in peer.events if e["type"].endswith("audio_transcript.done")]
        assert transcripts, peer.kinds()
    finally:
        await peer.close()
    # The model heard one spoken turn, over the one stream of the call.
    assert [len(stream.heard) for stream in emulator.stats.streams] == [1]


async def test_a_tool_call_round_trips(served: Served) -> None:
    peer = await call(served)
    try:
        await peer.send(
            {"type": "session.update", "session": {"type": "realtime", "tools": [WEATHER]}}
        )
        await peer.until("session.updated")
        for event in user_turn("What's the weather in Paris?"):
            await peer.send(event)
        arguments = await peer.until("response.function_call_arguments.done", within=30)
        assert arguments["name"] == "get_weather"
        assert "Paris" in json.loads(arguments["arguments"])["location"]
        first_done = await peer.until("response.done", within=30)
        mark = len(peer.events)
        result = {"location": "Paris", "temperature": 18, "conditions": "cloudy"}
        await peer.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": arguments["call_id"],
                    "output": json.dumps(result),
                },
            }
        )
        await peer.send({"type": "response.create"})
        done = await peer.until("response.done", within=30, after=mark)
        assert done["response"]["id"] != first_done["response"]["id"]
        assert done["response"]["status"] == "completed"
        await peer.until("output_audio_buffer.started", after=mark)
    finally:
        await peer.close()


async def test_speaking_over_the_reply_stops_its_playback(served: Served) -> None:
    peer = await call(served)
    try:
        # A long reply (slot 2 asks for one), then the user speaks over it.
        peer.mic.say(utterance_pcm(2, sample_rate=RATE))
        started = await peer.until("output_audio_buffer.started", within=30)
        mark = len(peer.events)
        peer.mic.say(utterance_pcm(0, sample_rate=RATE, trail_silence=1.0))
        cleared = await peer.until("output_audio_buffer.cleared", within=30, after=mark)
        assert cleared["response_id"] == started["response_id"]
        truncated = await peer.until("conversation.item.truncated", after=mark)
        assert truncated["audio_end_ms"] > 0
        done = await peer.until("response.done", within=30)
        assert done["response"]["id"] == started["response_id"]
    finally:
        await peer.close()
