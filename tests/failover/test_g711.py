"""A G.711 caller whose session fails over from OpenAI (which takes ``audio/pcmu`` as it is:
the bytes pass through) to Nova 2 (which takes PCM16: the gateway converts from then on).
The OpenAI connection is cut while the caller is mid-utterance and every reconnect is
refused, so the speech OpenAI took and never answered is replayed to Nova from the
gateway's ring, kept in G.711 and decoded for Nova; the conversation goes on there, the
replies still coming back as G.711."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from websockets.asyncio.client import connect

from rtcore.audio.g711 import ulaw_encode
from rtcore_emulated_speech import Script, silence_pcm, speech_seconds, utterance_pcm
from rtcore_openai_emulator import OpenAIRealtimeEmulator
from rtcore_sonic_emulator import NovaSonicEmulator
from tests.failover.conftest import NOVA, NOVA_FAST, OPENAI, OPENAI_FAST, Caller
from tests.failover.test_across_vendors import answer, moved, moves
from tests.transports.process import Served

G711_RATE = 8000
FORMAT = {"type": "audio/pcmu"}


def config(where: Path, openai: OpenAIRealtimeEmulator, nova: NovaSonicEmulator) -> Path:
    """``voice`` on OpenAI first, Nova 2 its fallback."""
    body = {
        "model_list": [
            {
                "model_name": "voice",
                "litellm_params": {
                    "model": OPENAI,
                    "api_key": "emulator-api-key",
                    "api_base": openai.url_for("openai"),
                    **OPENAI_FAST,
                },
                "model_info": {"id": "openai"},
            },
            {
                "model_name": "voice-nova",
                "litellm_params": {
                    "model": NOVA,
                    "aws_region_name": "us-east-1",
                    "aws_bedrock_runtime_endpoint": nova.endpoint,
                    "ssl_ca_file": str(nova.ca_file),
                    "aws_access_key_id": "AKIDEMULATOR",
                    "aws_secret_access_key": "emulator-secret",
                    **NOVA_FAST,
                },
                "model_info": {"id": "nova", "voice_map": {"marin": "matthew"}},
            },
        ],
        "router_settings": {"fallbacks": [{"voice": ["voice-nova"]}], "cooldown_time": 0.01},
    }
    path = where / "config.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


def spoken(slot: int) -> bytes:
    """Utterance ``slot`` and the quiet that ends its turn, as 8 kHz µ-law."""
    pcm = utterance_pcm(slot, sample_rate=G711_RATE) + silence_pcm(0.4, G711_RATE)
    return ulaw_encode(np.frombuffer(pcm, dtype="<i2"))


class G711Caller(Caller):
    """The failover suite's caller, speaking and hearing µ-law (a byte a sample)."""

    def __init__(self, ws: Any) -> None:
        super().__init__(ws)
        self.sent = 0

    async def send_audio(self, audio: bytes) -> None:
        step = G711_RATE // 5  # 200 ms
        for i in range(0, len(audio), step):
            chunk = audio[i : i + step]
            self.sent += len(chunk)
            encoded = base64.b64encode(chunk).decode()
            await self.send({"type": "input_audio_buffer.append", "audio": encoded})

    async def say(self, slot: int) -> None:
        await self.send_audio(spoken(slot))

    def seconds(self, rid: str) -> float:
        return self.replies[rid].audio / G711_RATE


@contextlib.asynccontextmanager
async def g711_session(served: Served) -> AsyncIterator[G711Caller]:
    async with connect(served.url("voice"), proxy=None, max_size=None) as ws:
        caller = G711Caller(ws)
        await caller.until(lambda: bool(caller.of("session.created")))
        audio = {
            "input": {"format": FORMAT, "turn_detection": {"type": "server_vad"}},
            "output": {"format": FORMAT, "voice": "marin"},
        }
        await caller.send(
            {"type": "session.update", "session": {"type": "realtime", "audio": audio}}
        )
        await caller.until(lambda: bool(caller.of("session.updated")))
        yield caller


def assert_whole_g711(caller: G711Caller, count: int, slot: int) -> None:
    reply = caller.done()[count - 1]
    text = answer(slot)
    assert reply.status == "completed", reply.done
    assert reply.transcript == text
    seconds = caller.seconds(reply.id)
    assert abs(seconds - speech_seconds(text)) < 0.02, (text, seconds)


async def test_a_g711_session_fails_over_from_openai_to_nova_mid_utterance(
    tmp_path: Path, openai: OpenAIRealtimeEmulator, nova: NovaSonicEmulator
) -> None:
    path = config(tmp_path, openai, nova)
    async with Served("--config", str(path)) as served, g711_session(served) as caller:
        await caller.say(0)
        await caller.answered(1)
        assert_whole_g711(caller, 1, 0)
        # On OpenAI the caller's bytes went up as they were (µ-law, not decoded, not
        # resampled: as many bytes as sent), and the reply came down as OpenAI wrote it.
        await caller.until(lambda: openai.stats.audio_in.size >= caller.sent)
        assert openai.stats.audio_in.size == caller.sent
        assert openai.stats.audio_out.size == caller.replies[caller.order[0]].audio
        update = [u for u in openai.stats.updates_of(1) if "audio" in u][-1]
        assert update["audio"]["input"]["format"] == FORMAT

        # Mid-utterance the connection is cut, and OpenAI refuses every new one.
        openai.inject("close=1011@0", connections=1000)
        utterance = spoken(3)
        half = G711_RATE * 4 // 10  # its quiet lead and half its tone: no turn yet
        await caller.send_audio(utterance[:half])
        await caller.until(lambda: openai.stats.audio_in.size >= caller.sent)
        assert openai.drop_connections() == 1
        await caller.send_audio(utterance[half:])
        await moved(served, caller, 1)
        # Nova hears the whole utterance (what OpenAI took, replayed, and the rest) and
        # answers it; the reply is µ-law at 8 kHz, whole.
        await caller.answered(2)
        assert_whole_g711(caller, 2, 3)
        await caller.say(4)
        await caller.answered(3)
        assert_whole_g711(caller, 3, 4)

        assert moves(served) == [("openai", "nova", "failover")], served.stderr
    assert not caller.of("error"), caller.of("error")
    # Nova took PCM16 at 8 kHz (the caller's rate, decoded), heard each utterance once,
    # and was given the first turn as history.
    streams = nova.stats.streams
    assert {stream.input_rate for stream in streams} == {G711_RATE}
    heard = [(slot, seconds) for stream in streams for slot, seconds in stream.heard]
    assert [slot for slot, _ in heard] == [3, 4], heard
    # The whole of utterance 3's tone (0.6 s): the half OpenAI took came again, from the ring.
    assert heard[0][1] > 0.5, heard
    history = [text for role, interactive, text in streams[0].texts if not interactive]
    assert Script().transcript(0) in history, streams[0].texts
    assert [h.slot for h in openai.stats.heard] == [0]
