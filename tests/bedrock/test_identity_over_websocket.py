"""The provider boundary's identities as a client meets them: ``rtcore serve --config`` as a
real subprocess, the Bedrock provider (real SDK, real HTTP/2) against the emulator running in
this test, a real WebSocket client. The emulator records what each stream was sent, so these
tests check what reached the model, not only what the client saw."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets
import yaml

from rtcore_sonic_emulator import NovaSonicEmulator, silence_pcm, utterance_pcm
from tests.transports.process import Served

V1 = "amazon.nova-sonic-v1:0"
V2 = "amazon.nova-2-sonic-v1:0"
FAST = {"usage_grace_seconds": 0.05, "backoff_initial_seconds": 0.02, "close_timeout_seconds": 1}


class Client:
    """One WebSocket session; ``events`` is everything the server sent, in order."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._new = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for frame in self.ws:
                self.events.append(json.loads(frame))
                self._new.set()

    async def send(self, **event: Any) -> None:
        await self.ws.send(json.dumps(event))

    async def say(self, text: str) -> None:
        content = [{"type": "input_text", "text": text}]
        await self.send(
            type="conversation.item.create",
            item={"type": "message", "role": "user", "content": content},
        )

    async def speak(self, pcm: bytes) -> None:
        for i in range(0, len(pcm), 6400):
            audio = base64.b64encode(pcm[i : i + 6400]).decode()
            await self.send(type="input_audio_buffer.append", audio=audio)

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == type_]

    async def wait(self, type_: str, count: int = 1, within: float = 20.0) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while len(self.of(type_)) < count:
                self._new.clear()
                await self._new.wait()
        return self.of(type_)[count - 1]

    def text_of(self, response_id: str) -> str:
        deltas = self.of("response.text.delta") + self.of("response.audio_transcript.delta")
        return "".join(e["delta"] for e in deltas if e["response_id"] == response_id)


@contextlib.asynccontextmanager
async def serve(emu: NovaSonicEmulator, tmp_path: Path, **params: object) -> AsyncIterator[Served]:
    emulated = {
        "api_base": emu.endpoint,
        "ssl_ca_file": str(emu.ca_file),
        "aws_access_key_id": "AKIDIDENTITYTEST",
        "aws_secret_access_key": "identity-test-secret",
        "aws_region_name": "us-east-1",
        **FAST,
        **params,
    }
    models = [
        {
            "model_name": "v1",
            "litellm_params": {**emulated, "model": f"bedrock/{V1}"},
            "model_info": {"use_successor": False},  # v1 as written: the legacy path
        },
        {"model_name": "v2", "litellm_params": {**emulated, "model": f"bedrock/{V2}"}},
    ]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"model_list": models}))
    async with Served("--config", str(path)) as served:
        yield served


@contextlib.asynccontextmanager
async def connect(served: Served, model: str) -> AsyncIterator[Client]:
    async with websockets.connect(served.url(model), open_timeout=10) as ws:
        client = Client(ws)
        await client.wait("session.created")
        yield client
        client._reader.cancel()


async def streams_opened(emu: NovaSonicEmulator, count: int, within: float = 10.0) -> None:
    for _ in range(int(within / 0.05)):
        if emu.stats.opened >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{emu.stats.opened} streams opened, expected {count}")


def history_after_first_stream(emu: NovaSonicEmulator) -> str:
    """The history (non-interactive text) every stream after the first was given."""
    texts = [t for r in emu.stats.streams[1:] for _, interactive, t in r.texts if not interactive]
    return "\n".join(texts)


@pytest.fixture
async def emu(tmp_path: Path) -> AsyncIterator[NovaSonicEmulator]:
    async with NovaSonicEmulator(
        cert_dir=tmp_path / "certs", realtime_factor=0.5, legacy_models=True
    ) as emulator:
        yield emulator


@pytest.mark.parametrize("model", ["v1", "v2"])
async def test_after_a_cancel_the_next_answer_is_the_next_questions(
    emu: NovaSonicEmulator, tmp_path: Path, model: str
) -> None:
    async with serve(emu, tmp_path) as served, connect(served, model) as client:
        await client.send(type="session.update", session={"modalities": ["text"]})
        await client.say("What is the capital of France?")
        await client.send(type="response.create")
        first = (await client.wait("response.created"))["response"]["id"]
        await client.wait("response.text.delta")
        await client.send(type="response.cancel")
        cancelled = await client.wait("response.done")
        assert cancelled["response"]["id"] == first
        assert cancelled["response"]["status"] == "cancelled"
        await client.say("Tell me about Spain.")
        await client.send(type="response.create")
        second = (await client.wait("response.created", 2))["response"]["id"]
        done = await client.wait("response.done", 2)
    assert done["response"]["id"] == second
    assert done["response"]["status"] == "completed"
    assert client.text_of(second) == "You said: Tell me about Spain."
    # Nothing of the cancelled answer arrived after its response.done, under any id.
    after = client.events[client.events.index(cancelled) :]
    assert not [e for e in after if e.get("response_id") == first]
    # v1's spoken nudge never shows up as a user item of its own.
    users = [
        e["item"] for e in client.of("conversation.item.created") if e["item"]["role"] == "user"
    ]
    assert len(users) == 2


async def test_deleted_spoken_turn_is_not_replayed_after_a_rotation(
    emu: NovaSonicEmulator, tmp_path: Path
) -> None:
    async with (
        serve(emu, tmp_path, rotate_after_seconds=1.0) as served,
        connect(served, "v2") as client,
    ):
        await client.send(
            type="session.update", session={"input_audio_transcription": {"model": "whisper-1"}}
        )
        await client.speak(utterance_pcm(0) + silence_pcm(2.0))  # "Hello."
        first = await client.wait("response.done")
        user_item = (await client.wait("conversation.item.input_audio_transcription.completed"))[
            "item_id"
        ]
        reply_item = first["response"]["output"][0]["id"]
        for item_id in (user_item, reply_item):
            await client.send(type="conversation.item.delete", item_id=item_id)
            await client.wait("conversation.item.deleted", 1 if item_id == user_item else 2)
        await client.speak(utterance_pcm(3) + silence_pcm(2.0))  # "Thank you, goodbye."
        await client.wait("response.done", 2)
        await streams_opened(emu, 2)  # the rotation, at the next turn boundary
        await client.say("Are you there?")
        await client.send(type="response.create")
        await client.wait("response.done", 3)
    replayed = history_after_first_stream(emu)
    assert "Thank you, goodbye." in replayed  # the kept turn is replayed
    assert "Hello." not in replayed


async def test_out_of_band_output_is_never_announced_nor_replayed(
    emu: NovaSonicEmulator, tmp_path: Path
) -> None:
    async with (
        serve(emu, tmp_path, rotate_after_seconds=0.5) as served,
        connect(served, "v2") as client,
    ):
        await client.send(type="session.update", session={"modalities": ["text"]})
        await client.say("Summarise our chat.")
        await client.send(
            type="response.create",
            response={"conversation": "none", "metadata": {"purpose": "summary"}},
        )
        aside = await client.wait("response.done")
        assert aside["response"]["conversation_id"] is None
        assert aside["response"]["metadata"] == {"purpose": "summary"}
        output_id = aside["response"]["output"][0]["id"]
        await client.send(type="conversation.item.retrieve", item_id=output_id)
        error = await client.wait("error")
        assert error["error"]["code"] == "item_not_found"
        await streams_opened(emu, 2)
        await client.say("Hello again.")
        await client.send(type="response.create")
        await client.wait("response.done", 2)
    announced = [e["item"]["id"] for e in client.of("conversation.item.created")]
    assert output_id not in announced
    replayed = history_after_first_stream(emu)
    assert "Summarise our chat." in replayed  # the user's item is in the conversation
    assert "You said: Summarise our chat." not in replayed  # the out-of-band answer is not


async def test_per_response_overrides_take_effect_or_are_refused(
    emu: NovaSonicEmulator, tmp_path: Path
) -> None:
    async with serve(emu, tmp_path) as served, connect(served, "v2") as client:
        await client.send(
            type="session.update", session={"modalities": ["text"], "voice": "matthew"}
        )
        await client.send(type="response.create", response={"voice": "tiffany"})
        refused = (await client.wait("error"))["error"]
        await client.send(type="response.create", response={"temperature": 0.2})
        refused_temperature = (await client.wait("error", 2))["error"]
        tool = {"type": "function", "name": "lookup", "parameters": {"type": "object"}}
        await client.send(type="response.create", response={"tools": [tool]})
        refused_tools = (await client.wait("error", 3))["error"]
        # The session's own value is no override.
        await client.say("Hi.")
        await client.send(
            type="response.create",
            response={"voice": "matthew", "instructions": "Answer in French."},
        )
        created = await client.wait("response.created")
        await client.wait("response.done")
    assert refused["code"] == "unsupported_parameter"
    assert refused["param"] == "response.voice"
    assert refused_temperature["param"] == "response.temperature"
    assert (refused_tools["code"], refused_tools["param"]) == (
        "unsupported_parameter",
        "response.tools",
    )
    assert len(client.of("response.created")) == 1
    assert created["response"]["voice"] == "matthew"
    live = [text for role, interactive, text in emu.stats.streams[-1].texts if interactive]
    assert any("Answer in French." in text and "Hi." in text for text in live), live


async def test_truncating_a_reply_that_still_streams_is_accepted(
    emu: NovaSonicEmulator, tmp_path: Path
) -> None:
    emu.realtime_factor = 1.0
    async with serve(emu, tmp_path) as served, connect(served, "v2") as client:
        await client.speak(utterance_pcm(1) + silence_pcm(2.0))
        delta = await client.wait("response.audio.delta")
        await asyncio.sleep(0.3)
        await client.send(
            type="conversation.item.truncate",
            item_id=delta["item_id"],
            content_index=0,
            audio_end_ms=100,
        )
        truncated = await client.wait("conversation.item.truncated")
        done = await client.wait("response.done")
    assert truncated["audio_end_ms"] == 100
    assert not client.of("error")
    # Nothing more of the truncated item reached the client after the truncation.
    after = client.events[client.events.index(truncated) :]
    assert not [e for e in after if e["type"] == "response.audio.delta"]
    assert done["response"]["output"][0]["status"] == "incomplete"


async def test_an_empty_tools_list_per_response_keeps_the_session_tools(
    emu: NovaSonicEmulator, tmp_path: Path
) -> None:
    """pipecat's beta service (OpenAIRealtimeBetaLLMService, 0.0.x) sends every
    ``response.create`` as its ResponseProperties model dumps it: ``tools: []`` and the
    modalities. That asks for nothing different from the session, and the tool turn runs."""
    tool = {
        "type": "function",
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    pipecat_response = {"modalities": ["audio", "text"], "tools": []}
    async with serve(emu, tmp_path) as served, connect(served, "v2") as client:
        await client.send(type="session.update", session={"tools": [tool], "voice": "matthew"})
        await client.say("What is the weather in Paris?")
        await client.send(type="response.create", response=pipecat_response)
        call = await client.wait("response.function_call_arguments.done")
        await client.wait("response.done")
        await client.send(
            type="conversation.item.create",
            item={"type": "function_call_output", "call_id": call["call_id"], "output": "Sunny"},
        )
        await client.send(type="response.create", response=pipecat_response)
        await client.wait("response.done", 2)
    assert not client.of("error")
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    second = client.of("response.done")[1]["response"]
    assert second["status"] == "completed"
    assert "Sunny" in client.text_of(second["id"])


async def test_input_transcription_events_only_when_on_with_the_turns_duration(
    emu: NovaSonicEmulator, tmp_path: Path
) -> None:
    """With ``input_audio_transcription`` null (the default) a spoken turn is answered and
    no transcription event is sent, as OpenAI's server does; turned on, the turn's
    transcript arrives with the duration of its audio (never 0)."""
    spoken = utterance_pcm(1) + silence_pcm(2.0)
    sent_seconds = len(spoken) / 2 / 16000
    async with serve(emu, tmp_path) as served, connect(served, "v2") as client:
        await client.speak(spoken)
        await client.wait("response.done")
        assert not [e for e in client.events if "input_audio_transcription" in e["type"]]

        await client.send(
            type="session.update", session={"input_audio_transcription": {"model": "whisper-1"}}
        )
        await client.wait("session.updated")
        await client.speak(spoken)
        completed = await client.wait("conversation.item.input_audio_transcription.completed")
        await client.wait("response.done", 2)
    assert not client.of("error")
    assert completed["transcript"]
    usage = completed["usage"]
    assert usage["type"] == "duration"
    # The turn's audio, from where speech was detected to where it ended: more than the
    # tone itself (0.6 s), no more than what was sent for the turn.
    assert 0.6 <= usage["seconds"] <= sent_seconds, usage
