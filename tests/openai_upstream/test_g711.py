"""G.711 passed through, end to end: ``rtcore serve --config`` in front of an OpenAI, an
Azure OpenAI and an xAI model on the OpenAI Realtime emulator and a Nova 2 model on Bedrock's
(both emulators in the test's process, so their records can be read), and the official
``openai`` SDK speaking ``audio/pcmu`` / ``audio/pcma``. On the OpenAI-protocol vendors,
which take G.711 themselves, the upstream hears exactly the client's bytes and the client
hears exactly the upstream's (no decoding, no resampling: the byte counts and hashes agree),
and the spend record counts a byte a sample; Nova takes PCM16, so the same client is
converted there."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import yaml
from openai import AsyncOpenAI

from rtcore.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from rtcore_emulated_speech import Script, default_reply, silence_pcm, speech_seconds, utterance_pcm
from rtcore_openai_emulator import OpenAIRealtimeEmulator
from rtcore_sonic_emulator import NovaSonicEmulator
from tests.clients.conftest import validate
from tests.keys.conftest import Admin
from tests.transports.process import Served

MASTER = "sk-master-g711"
G711_RATE = 8000
# The GA format type, and the test's own codec for it.
CODECS = {
    "audio/pcmu": (ulaw_encode, ulaw_decode),
    "audio/pcma": (alaw_encode, alaw_decode),
}
XAI_PER_SECOND = 0.05 / 60  # $0.05 per minute of audio sent (docs.x.ai)
FAST = {"close_timeout_seconds": 1.0}


@pytest.fixture
async def openai() -> AsyncIterator[OpenAIRealtimeEmulator]:
    async with OpenAIRealtimeEmulator(
        realtime_factor=0.0, deployments={"voice-deployment": "gpt-realtime"}
    ) as emu:
        yield emu


@pytest.fixture
async def nova(tmp_path: Path) -> AsyncIterator[NovaSonicEmulator]:
    async with NovaSonicEmulator(cert_dir=tmp_path / "certs", realtime_factor=0.0) as emu:
        yield emu


def _config(where: Path, openai: OpenAIRealtimeEmulator, nova: NovaSonicEmulator) -> Path:
    def on_openai(vendor: str, model: str) -> dict[str, Any]:
        base = openai.url_for(vendor)
        return {"model": model, "api_key": "emulator-api-key", "api_base": base, **FAST}

    config = {
        "model_list": [
            {
                "model_name": "openai-voice",
                "litellm_params": on_openai("openai", "openai/gpt-realtime-2"),
            },
            {
                "model_name": "azure-voice",
                "litellm_params": on_openai("azure", "azure/voice-deployment"),
                "model_info": {"base_model": "gpt-realtime"},
            },
            {
                "model_name": "xai-voice",
                "litellm_params": on_openai("xai", "xai/grok-voice-think-fast-1.0"),
            },
            {
                "model_name": "nova-voice",
                "litellm_params": {
                    "model": "bedrock/amazon.nova-2-sonic-v1:0",
                    "aws_region_name": "us-east-1",
                    "aws_bedrock_runtime_endpoint": nova.endpoint,
                    "ssl_ca_file": str(nova.ca_file),
                    "aws_access_key_id": "AKIDEMULATOR",
                    "aws_secret_access_key": "emulator-secret",
                    **FAST,
                },
            },
        ],
        "general_settings": {"master_key": MASTER},
    }
    path = where / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def config(tmp_path: Path, openai: OpenAIRealtimeEmulator, nova: NovaSonicEmulator) -> Path:
    return _config(tmp_path, openai, nova)


def spoken(fmt: str, slot: int) -> bytes:
    """Utterance ``slot`` and the quiet that ends its turn, as 8 kHz G.711 in ``fmt``."""
    pcm = utterance_pcm(slot, sample_rate=G711_RATE) + silence_pcm(0.6, G711_RATE)
    encode, _ = CODECS[fmt]
    return encode(np.frombuffer(pcm, dtype="<i2"))


class Call:
    """An SDK connection in a G.711 format, with every raw server event it received (each
    validated as a strict client would) and the reply audio as the bytes it came in."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.events: list[dict[str, Any]] = []
        self.audio = bytearray()

    async def until(self, kind: str) -> dict[str, Any]:
        async with asyncio.timeout(60):
            while True:
                event = json.loads(await self.conn.recv_bytes())
                validate(event, "ga")
                assert event["type"] != "error", event
                self.events.append(event)
                if event["type"] == "response.output_audio.delta":
                    self.audio += base64.b64decode(event["delta"])
                if event["type"] == kind:
                    return dict(event)

    def transcript(self) -> str:
        kind = "response.output_audio_transcript.delta"
        return "".join(e["delta"] for e in self.events if e["type"] == kind)

    async def say(self, audio: bytes) -> None:
        step = G711_RATE // 10  # 100 ms
        for i in range(0, len(audio), step):
            chunk = base64.b64encode(audio[i : i + step]).decode()
            await self.conn.input_audio_buffer.append(audio=chunk)


@asynccontextmanager
async def g711_call(port: int, key: str, model: str, fmt: str) -> AsyncIterator[Call]:
    client = AsyncOpenAI(api_key=key, websocket_base_url=f"ws://127.0.0.1:{port}/v1")
    try:
        async with client.realtime.connect(model=model) as conn:
            call = Call(conn)
            await call.until("session.created")
            audio = {
                "input": {"format": {"type": fmt}, "turn_detection": {"type": "server_vad"}},
                "output": {"format": {"type": fmt}},
            }
            await conn.session.update(session={"type": "realtime", "audio": audio})
            updated = await call.until("session.updated")
            assert updated["session"]["audio"]["input"]["format"] == {"type": fmt}
            assert updated["session"]["audio"]["output"]["format"] == {"type": fmt}
            yield call
    finally:
        await client.close()


async def spend_row(admin: Admin, key: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            status, rows = await admin.get("/spend/logs", api_key=key)
            assert status == 200, rows
            if rows:
                [row] = rows
                return dict(row)
            await asyncio.sleep(0.05)


def digest(data: bytes) -> tuple[int, str]:
    return len(data), hashlib.sha256(data).hexdigest()


@pytest.fixture
async def served(config: Path, tmp_path: Path) -> AsyncIterator[Served]:
    # Its own key store (the keys made here are listed by no other test's server), and
    # stopped without blocking the loop the emulators answer its close on.
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    async with Served("--config", str(config), env=env) as server:
        yield server
    assert "Traceback" not in server.stderr, server.stderr


@pytest.mark.parametrize(
    ("model", "fmt"),
    [
        ("openai-voice", "audio/pcmu"),
        ("openai-voice", "audio/pcma"),
        ("azure-voice", "audio/pcmu"),
        ("xai-voice", "audio/pcma"),
    ],
)
async def test_g711_crosses_unconverted_both_ways(
    served: Served, openai: OpenAIRealtimeEmulator, model: str, fmt: str
) -> None:
    said = spoken(fmt, 3)
    async with aiohttp.ClientSession() as http:
        admin = Admin(http, served.port, MASTER)
        key = await admin.generate(key_alias=f"g711-{model}-{fmt}")
        async with g711_call(served.port, key, model, fmt) as call:
            await call.say(said)
            done = await call.until("response.done")
            assert done["response"]["status"] == "completed", done
            heard = bytes(call.audio)
            # Everything the client said reached the upstream (the quiet after the turn
            # may follow the reply).
            async with asyncio.timeout(30):
                while openai.stats.audio_in.size < len(said):  # noqa: ASYNC110 - polls the record
                    await asyncio.sleep(0.01)
        row = await spend_row(admin, key)

    # The upstream was asked for the client's format (once the client had named it).
    update = [u for u in openai.stats.updates_of(1) if "audio" in u][-1]
    assert update["audio"]["input"]["format"] == {"type": fmt}
    assert update["audio"]["output"]["format"] == {"type": fmt}
    # It took exactly the client's bytes, and the client exactly the upstream's.
    stats = openai.stats
    assert (stats.audio_in.size, stats.audio_in.sha256) == digest(said)
    assert (stats.audio_out.size, stats.audio_out.sha256) == digest(heard)
    # And it is the conversation: the utterance heard, its answer spoken, whole, at 8 kHz.
    assert [h.slot for h in stats.heard] == [3]
    reply = default_reply(Script().transcript(3))
    assert call.transcript() == reply
    assert len(heard) / G711_RATE == pytest.approx(speech_seconds(reply), abs=0.02)
    # The spend record counts a byte a sample (8-bit audio), not two.
    meta = row["metadata"]
    assert meta["audio_seconds_in"] == pytest.approx(len(said) / G711_RATE)
    assert meta["audio_seconds_out"] == pytest.approx(len(heard) / G711_RATE)
    if model == "xai-voice":
        # Billed by the minute of audio sent: the 8-bit seconds, at the published price.
        assert float(row["spend"]) == pytest.approx(len(said) / G711_RATE * XAI_PER_SECOND)


async def test_the_same_g711_client_is_converted_for_nova(
    served: Served, openai: OpenAIRealtimeEmulator, nova: NovaSonicEmulator
) -> None:
    fmt = "audio/pcmu"
    said = spoken(fmt, 4)
    async with aiohttp.ClientSession() as http:
        admin = Admin(http, served.port, MASTER)
        key = await admin.generate(key_alias="g711-nova")
        async with g711_call(served.port, key, "nova-voice", fmt) as call:
            await call.say(said)
            done = await call.until("response.done")
            assert done["response"]["status"] == "completed", done
            heard = bytes(call.audio)
        row = await spend_row(admin, key)

    # Nova was given PCM16 (at the 8 kHz it also takes): two bytes a sample of the client's.
    streams = nova.stats.streams
    assert {stream.input_rate for stream in streams} == {G711_RATE}
    assert sum(stream.audio_bytes for stream in streams) >= 2 * len(said)
    assert [slot for stream in streams for slot, _ in stream.heard] == [4]
    assert openai.stats.connections == 0
    # The reply came back as G.711 at 8 kHz, whole, and sounds: it was encoded here.
    reply = default_reply(Script().transcript(4))
    assert call.transcript() == reply
    assert len(heard) / G711_RATE == pytest.approx(speech_seconds(reply), abs=0.02)
    _, decode = CODECS[fmt]
    assert np.abs(decode(heard).astype(np.int32)).max() > 1000
    # Metered as the PCM16 that crossed to and from Nova: the same seconds.
    meta = row["metadata"]
    assert meta["audio_seconds_in"] == pytest.approx(len(said) / G711_RATE)
    assert meta["audio_seconds_out"] == pytest.approx(len(heard) / G711_RATE, abs=0.01)
