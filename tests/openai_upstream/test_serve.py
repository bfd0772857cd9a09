"""End to end: ``rtcore serve --config`` with an OpenAI, an Azure OpenAI and an xAI model
and ``--emulator`` (no account, no credentials), and the official ``openai`` SDK,
unmodified: text, tool, spoken and push-to-talk turns on each vendor."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import yaml
from openai import AsyncOpenAI

from rtcore_openai_emulator import silence_pcm, utterance_pcm
from tests.clients.test_openai_sdk import Conversation, deltas, user_text
from tests.transports.process import Served

MODELS = {
    "openai-voice": "openai/gpt-realtime-2",
    "azure-voice": "azure/voice-deployment",
    "xai-voice": "xai/grok-voice-think-fast-1.0",
}
RATE = 24000
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


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("openai-serve") / "config.yaml"
    entries: list[dict[str, Any]] = [
        {"model_name": name, "litellm_params": {"model": model}} for name, model in MODELS.items()
    ]
    entries[1]["model_info"] = {"base_model": "gpt-realtime"}
    path.write_text(yaml.safe_dump({"model_list": entries}))
    with Served("--config", str(path), "--emulator") as server:
        yield server
    assert "Traceback" not in server.stderr, server.stderr


@asynccontextmanager
async def talk(served: Served, model: str) -> AsyncIterator[Conversation]:
    client = AsyncOpenAI(api_key="sk-test", websocket_base_url=f"ws://127.0.0.1:{served.port}/v1")
    async with client.realtime.connect(model=model) as conn:
        conversation = Conversation(conn, "ga")
        await conversation.until("session.created")
        yield conversation
    await client.close()


async def _speak(c: Conversation, pcm: bytes) -> None:
    step = RATE // 10 * 2
    for i in range(0, len(pcm), step):
        await c.conn.input_audio_buffer.append(audio=base64.b64encode(pcm[i : i + step]).decode())


@pytest.mark.parametrize("model", MODELS)
async def test_text_turn(served: Served, model: str) -> None:
    async with talk(served, model) as c:
        await c.conn.session.update(session=c.session(output_modalities=["text"]))
        await c.until("session.updated")
        await c.conn.conversation.item.create(item=user_text("Hello there"))
        await c.conn.response.create()
        events = await c.until("response.done")
    assert deltas(events, "response.output_text.delta") == "You said: Hello there"
    assert events[-1]["response"]["status"] == "completed"


@pytest.mark.parametrize("model", ["openai-voice", "azure-voice"])
async def test_the_vendors_rate_limits_reach_the_client(served: Served, model: str) -> None:
    """OpenAI reports its rate limits after each response (xAI does not): the client sees
    them as the vendor gave them."""
    async with talk(served, model) as c:
        await c.conn.session.update(session=c.session(output_modalities=["text"]))
        await c.until("session.updated")
        await c.conn.conversation.item.create(item=user_text("Hello there"))
        await c.conn.response.create()
        await c.until("response.done")
        [updated] = (await c.until("rate_limits.updated"))[-1:]
    # OpenAI's GA sessions report tokens alone (openai-upstreams.md §3.7).
    [tokens] = updated["rate_limits"]
    assert tokens["name"] == "tokens"
    assert tokens["limit"] > tokens["remaining"] > 0
    assert tokens["reset_seconds"] >= 0


@pytest.mark.parametrize("model", MODELS)
async def test_tool_turn(served: Served, model: str) -> None:
    async with talk(served, model) as c:
        await c.conn.session.update(session=c.session(tools=[WEATHER]))
        await c.until("session.updated")
        await c.conn.conversation.item.create(item=user_text("What is the weather in Paris?"))
        await c.conn.response.create()
        events = await c.until("response.done")
        calls = [o for o in events[-1]["response"]["output"] if o["type"] == "function_call"]
        assert [call["name"] for call in calls] == ["get_weather"]
        output = {
            "type": "function_call_output",
            "call_id": calls[0]["call_id"],
            "output": json.dumps({"sky": "sunny"}),
        }
        await c.conn.conversation.item.create(item=output)
        await c.conn.response.create()
        events = await c.until("response.done")
    assert "sunny" in deltas(events, "response.output_audio_transcript.delta")


@pytest.mark.parametrize("model", MODELS)
async def test_spoken_turn(served: Served, model: str) -> None:
    async with talk(served, model) as c:
        td = {"transcription": {"model": "gpt-4o-transcribe"}}
        await c.conn.session.update(session=c.session(audio={"input": td}))
        await c.until("session.updated")
        await _speak(c, utterance_pcm(1, sample_rate=RATE) + silence_pcm(0.5, sample_rate=RATE))
        events = await c.until("response.done")
        done = "conversation.item.input_audio_transcription.completed"
        # Transcription runs beside the reply: its end may come before or after it.
        heard = [e for e in events if e["type"] == done] or await c.until(done)
    types = [e["type"] for e in events]
    assert types.index("input_audio_buffer.speech_started") < types.index(
        "input_audio_buffer.committed"
    )
    assert heard[-1]["transcript"] == "What is the weather like in Paris?"
    said = deltas(events, "response.output_audio_transcript.delta")
    assert said == "You said: What is the weather like in Paris?"
    assert deltas(events, "response.output_audio.delta")
    assert events[-1]["response"]["status"] == "completed"


@pytest.mark.parametrize("model", MODELS)
async def test_push_to_talk_waits_for_the_transcript_then_asks(served: Served, model: str) -> None:
    async with talk(served, model) as c:
        td: dict[str, Any] = {"turn_detection": None, "transcription": {"model": "whisper-1"}}
        await c.conn.session.update(session=c.session(audio={"input": td}))
        await c.until("session.updated")
        await _speak(c, utterance_pcm(0, sample_rate=RATE) + silence_pcm(0.3, sample_rate=RATE))
        await c.conn.input_audio_buffer.commit()
        # What the openai SDK's examples do: the transcript, then response.create.
        heard = await c.until("conversation.item.input_audio_transcription.completed")
        await c.conn.response.create()
        events = await c.until("response.done")
    assert heard[-1]["transcript"] == "Hello."
    assert deltas(events, "response.output_audio_transcript.delta") == "You said: Hello."
    assert events[-1]["response"]["status"] == "completed"
