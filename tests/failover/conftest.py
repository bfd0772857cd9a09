"""One ``rtcore serve`` (a real subprocess) with three model names on three vendors' emulators
(Nova 2 on Bedrock's, Gemini Live's, OpenAI Realtime's), chained by ``router_settings.fallbacks``:
the emulators run in the test's process, so a test breaks them mid-conversation, and a caller
speaks to the server over a real WebSocket."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from websockets.asyncio.client import ClientConnection, connect

from rtcore_emulated_speech import silence_pcm, utterance_pcm
from rtcore_gemini_emulator import GeminiLiveEmulator
from rtcore_openai_emulator import OpenAIRealtimeEmulator
from rtcore_sonic_emulator import NovaSonicEmulator

NOVA = "bedrock/amazon.nova-2-sonic-v1:0"
GEMINI = "gemini/gemini-3.8-live"
OPENAI = "openai/gpt-realtime-2"
RATE = 24000  # the caller's pcm16
# Deployments cool down after a failure for this long: short, so where a session goes is
# decided by which emulator is broken, not by the clock.
COOLDOWN = 0.01
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
# Each provider's retries shortened (its own recovery still runs, only quicker).
NOVA_FAST = {
    "usage_grace_seconds": 0.05,
    "backoff_initial_seconds": 0.02,
    "close_timeout_seconds": 1.0,
    "throttle_backoff_initial_seconds": 0.02,
    "throttle_backoff_max_seconds": 0.05,
    "throttle_attempts": 2,
    "max_open_attempts": 2,
    "stall_timeout_seconds": 2.0,
}
GEMINI_FAST = {
    "backoff_initial_seconds": 0.02,
    "close_timeout_seconds": 1.0,
    "throttle_backoff_initial_seconds": 0.02,
    "throttle_backoff_max_seconds": 0.05,
    "throttle_attempts": 2,
    "max_open_attempts": 2,
    "stall_timeout_seconds": 1.0,
}
OPENAI_FAST = {"close_timeout_seconds": 1.0, "max_open_attempts": 2, "stall_timeout_seconds": 1.0}


@pytest.fixture(scope="session")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("failover-certs")


@pytest.fixture
async def nova(cert_dir: Path) -> AsyncIterator[NovaSonicEmulator]:
    async with NovaSonicEmulator(cert_dir=cert_dir, realtime_factor=0.0) as emu:
        yield emu


@pytest.fixture
async def gemini(cert_dir: Path) -> AsyncIterator[GeminiLiveEmulator]:
    async with GeminiLiveEmulator(cert_dir=cert_dir, realtime_factor=0.0) as emu:
        yield emu


@pytest.fixture
async def openai(cert_dir: Path) -> AsyncIterator[OpenAIRealtimeEmulator]:
    async with OpenAIRealtimeEmulator(realtime_factor=0.0) as emu:
        yield emu


def write_config(
    where: Path,
    nova: NovaSonicEmulator,
    gemini: GeminiLiveEmulator,
    openai: OpenAIRealtimeEmulator,
    *,
    nova_params: dict[str, object] | None = None,
    gemini_params: dict[str, object] | None = None,
    openai_params: dict[str, object] | None = None,
    cooldown: float = COOLDOWN,
    failback: bool = True,
) -> Path:
    """``voice`` (Nova 2, failing back to it unless not ``failback``), ``voice-gemini`` and
    ``voice-openai``, the last two its fallbacks in that order."""
    config = {
        "model_list": [
            {
                "model_name": "voice",
                "litellm_params": {
                    "model": NOVA,
                    "aws_region_name": "us-east-1",
                    "aws_bedrock_runtime_endpoint": nova.endpoint,
                    "ssl_ca_file": str(nova.ca_file),
                    "aws_access_key_id": "AKIDEMULATOR",
                    "aws_secret_access_key": "emulator-secret",
                    **NOVA_FAST,
                    **(nova_params or {}),
                },
                "model_info": {"id": "nova", "failback": failback},
            },
            {
                "model_name": "voice-gemini",
                "litellm_params": {
                    "model": GEMINI,
                    "api_key": "emulator-api-key",
                    "api_base": gemini.base_url,
                    "ssl_ca_file": str(gemini.ca_file),
                    **GEMINI_FAST,
                    **(gemini_params or {}),
                },
                "model_info": {"id": "gemini", "voice_map": {"matthew": "Puck"}},
            },
            {
                "model_name": "voice-openai",
                "litellm_params": {
                    "model": OPENAI,
                    "api_key": "emulator-api-key",
                    "api_base": openai.url_for("openai"),
                    **OPENAI_FAST,
                    **(openai_params or {}),
                },
                "model_info": {"id": "openai", "voice_map": {"matthew": "ash"}},
            },
        ],
        "router_settings": {
            "fallbacks": [{"voice": ["voice-gemini", "voice-openai"]}],
            "cooldown_time": cooldown,
        },
    }
    path = where / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


class Reply:
    """One response as the caller got it."""

    def __init__(self, response_id: str) -> None:
        self.id = response_id
        self.audio = 0  # bytes of pcm16 at RATE
        self.transcript = ""
        self.done: dict[str, Any] | None = None

    @property
    def status(self) -> str | None:
        return None if self.done is None else str(self.done["status"])

    @property
    def calls(self) -> list[dict[str, Any]]:
        if self.done is None:
            return []
        return [o for o in self.done.get("output", []) if o.get("type") == "function_call"]

    @property
    def seconds(self) -> float:
        return self.audio / (2 * RATE)


class Caller:
    """A voice client: speaks tone-coded utterances as pcm16 over its WebSocket (server
    VAD), and keeps every event it is sent, each reply's audio and transcript apart."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.replies: dict[str, Reply] = {}
        self.order: list[str] = []
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for frame in self.ws:
            event = json.loads(frame)
            self.events.append(event)
            kind = str(event["type"])
            if kind == "response.created":
                rid = event["response"]["id"]
                if rid not in self.replies:
                    self.replies[rid] = Reply(rid)
                    self.order.append(rid)
            elif kind in ("response.output_audio.delta", "response.audio.delta"):
                self.replies[event["response_id"]].audio += len(base64.b64decode(event["delta"]))
            elif kind in (
                "response.output_audio_transcript.delta",
                "response.audio_transcript.delta",
            ):
                self.replies[event["response_id"]].transcript += event["delta"]
            elif kind == "response.done":
                rid = event["response"]["id"]
                self.replies.setdefault(rid, Reply(rid)).done = event["response"]
                if rid not in self.order:
                    self.order.append(rid)
            self._changed.set()
        self._changed.set()

    async def send(self, event: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(event))

    async def say(self, slot: int) -> None:
        """Utterance ``slot`` (its tone, then the quiet that ends the turn)."""
        pcm = utterance_pcm(slot, sample_rate=RATE) + silence_pcm(0.3, RATE)
        chunk = RATE // 5 * 2  # 200 ms
        for i in range(0, len(pcm), chunk):
            await self.send(
                {
                    "type": "input_audio_buffer.append",
                    "audio": base64.b64encode(pcm[i : i + chunk]).decode(),
                }
            )

    async def until(self, predicate: Callable[[], bool], within: float = 60.0) -> None:
        """Waits for what the caller was sent, or for what the server logs or the
        emulators record (polled: they have no event to wait on); ``within`` is only a
        safety net."""
        try:
            async with asyncio.timeout(within):
                while not predicate():
                    self._changed.clear()
                    if self._reader.done():
                        raise AssertionError("the server closed the session")
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(0.05):
                            await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"gave up waiting; the caller got {self.summary()}") from None

    def done(self) -> list[Reply]:
        return [self.replies[r] for r in self.order if self.replies[r].done is not None]

    async def answered(self, count: int) -> Reply:
        """Waits for the ``count``-th finished reply and returns it."""
        await self.until(lambda: len(self.done()) >= count)
        return self.done()[count - 1]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    def summary(self) -> list[tuple[str, str | None, str]]:
        return [(r.id, r.status, r.transcript) for r in (self.replies[i] for i in self.order)]


async def call(url: str) -> AsyncIterator[Caller]:
    async with connect(url, proxy=None, max_size=None) as ws:
        caller = Caller(ws)
        await caller.until(lambda: bool(caller.of("session.created")))
        await caller.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "tools": [WEATHER],
                    "audio": {
                        "input": {"turn_detection": {"type": "server_vad"}},
                        "output": {"voice": "marin"},
                    },
                },
            }
        )
        await caller.until(lambda: bool(caller.of("session.updated")))
        yield caller
