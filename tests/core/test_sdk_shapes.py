"""Every server event rtcore emits parses into the official SDK's typed models.

The OpenAI SDK ships pydantic models for both dialects; strict clients (openai-agents)
validate each event against them, so a missing required field breaks them.
"""

from __future__ import annotations

import base64
import typing
from typing import Any

import pydantic
import pytest
from openai.types.beta.realtime import RealtimeServerEvent as BetaServerEvent
from openai.types.realtime import RealtimeServerEvent as GaServerEvent

from rtcore.dialect import Dialect
from rtcore.provider import messages as n

from .conftest import Harness, ScriptedProvider


def by_type(union: Any) -> dict[str, type[pydantic.BaseModel]]:
    """The SDK's union, keyed by each model's literal ``type`` (for precise errors)."""
    members = typing.get_args(typing.get_args(union)[0]) or typing.get_args(union)
    table = {}
    for model in members:
        for literal in typing.get_args(model.model_fields["type"].annotation):
            table[literal] = model
    return table


GA = by_type(GaServerEvent)
BETA = by_type(BetaServerEvent)

USER_TEXT = {
    "type": "conversation.item.create",
    "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
}
TOOL = {"type": "function", "name": "get_weather", "description": "Weather", "parameters": {}}


def tool_then_text(command: n.Command) -> list[n.Event]:
    if isinstance(command, n.CreateResponse):
        rid = command.response_id
        return [
            n.TranscriptDelta(response_id=rid, text="Checking."),
            n.AudioDelta(response_id=rid, pcm=b"\x00\x01" * 2400),
            n.ToolCall(
                response_id=rid, call_id="call_abc", name="get_weather", arguments='{"x":"SF"}'
            ),
            n.ResponseDone(
                response_id=rid, usage=n.Usage(input_audio_tokens=10, output_audio_tokens=20)
            ),
        ]
    return []


def validate(events: list[dict[str, Any]], models: dict[str, type[pydantic.BaseModel]]) -> set[str]:
    seen = set()
    for event in events:
        assert event["type"] in models, f"{event['type']} is not a server event of this dialect"
        models[event["type"]].model_validate(event, strict=False)
        seen.add(event["type"])
    return seen


async def drive(harness: Harness, session: dict[str, Any]) -> list[dict[str, Any]]:
    async with harness as client:
        await client.send({"type": "session.update", "session": session})
        await client.send(USER_TEXT)
        await client.send({"type": "response.create"})
        await client.wait_for("response.done")
        # Bring the provider's own turn detection into play.
        session_obj = harness.provider.sessions[0]
        await session_obj.emit(
            n.SpeechStarted(item_id="item_s1", audio_start_ms=100),
            n.SpeechStopped(item_id="item_s1", audio_end_ms=900),
            n.InputTranscript(item_id="item_s1", text="what now", final=False),
            n.InputTranscript(item_id="item_s1", text="", final=True),
            n.ResponseStarted(response_id="resp_p1"),
            n.TranscriptDelta(response_id="resp_p1", text="Now "),
            n.SpeechStarted(item_id="item_s2", audio_start_ms=1500),
            n.ResponseDone(response_id="resp_p1", status="cancelled", reason="turn_detected"),
        )
        await client.wait_for("response.done", count=2)
        await client.send({"type": "conversation.item.retrieve", "item_id": "nope"})
        await client.wait_for("error")
        return client.events


@pytest.mark.parametrize("dialect", [Dialect.GA, None])
async def test_ga_events_parse_into_sdk_models(dialect: Dialect | None) -> None:
    provider = ScriptedProvider(tool_then_text)
    events = await drive(
        Harness(provider, dialect),
        {
            "type": "realtime",
            "output_modalities": ["audio"],
            "tools": [TOOL],
            "audio": {"input": {"transcription": {"model": "whisper-1"}}},
        },
    )
    seen = validate(events, GA)
    assert {
        "session.created",
        "session.updated",
        "conversation.item.added",
        "conversation.item.done",
        "response.created",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_audio.delta",
        "response.output_audio_transcript.delta",
        "response.output_audio_transcript.done",
        "response.function_call_arguments.done",
        "response.done",
        "input_audio_buffer.speech_started",
        "input_audio_buffer.committed",
        "conversation.item.input_audio_transcription.completed",
        "error",
    } <= seen
    assert not any(t.startswith(("response.audio.", "response.text.")) for t in seen)


@pytest.mark.parametrize("dialect", [Dialect.BETA, None])
async def test_beta_events_parse_into_sdk_models(dialect: Dialect | None) -> None:
    provider = ScriptedProvider(tool_then_text)
    events = await drive(
        Harness(provider, dialect),
        {
            "modalities": ["text", "audio"],
            "voice": "matthew",
            "tools": [TOOL],
            "input_audio_transcription": {"model": "whisper-1"},
        },
    )
    for event in events:
        if event["type"].startswith("session."):
            # The beta models enumerate OpenAI's own model names (the SDK parses leniently
            # at run time, so clients accept any name); everything else is checked.
            event["session"].pop("model")
    seen = validate(events, BETA)
    assert {
        "session.created",
        "conversation.item.created",
        "response.audio.delta",
        "response.audio_transcript.delta",
        "response.function_call_arguments.done",
        "response.done",
        "conversation.item.input_audio_transcription.completed",
    } <= seen
    assert "conversation.item.added" not in seen


async def test_audio_delta_is_base64_of_converted_pcm() -> None:
    provider = ScriptedProvider(tool_then_text)
    async with Harness(provider, Dialect.GA) as client:
        await client.send({"type": "session.update", "session": {"type": "realtime"}})
        await client.send(USER_TEXT)
        await client.send({"type": "response.create"})
        await client.wait_for("response.done")
        deltas = [e for e in client.events if e["type"] == "response.output_audio.delta"]
        audio = b"".join(base64.b64decode(e["delta"]) for e in deltas)
        # 24 kHz in, 24 kHz out: byte for byte.
        assert audio == b"\x00\x01" * 2400
        done = await client.wait_for("response.done")
        assert done["response"]["usage"]["output_token_details"]["audio_tokens"] == 20


async def test_session_created_before_the_dialect_is_known_serves_both() -> None:
    async with Harness(ScriptedProvider(tool_then_text)) as client:
        created = client.events[0]
    GA[created["type"]].model_validate(created)
    session = created["session"]
    assert session["type"] == "realtime"
    assert session["audio"]["output"]["voice"] == "matthew"
    assert session["voice"] == "matthew"  # the beta field, for beta clients
    assert session["modalities"] == ["text", "audio"]


@pytest.mark.parametrize("dialect", [Dialect.GA, Dialect.BETA])
async def test_a_failed_transcription_reaches_the_client_as_failed(dialect: Dialect) -> None:
    """An upstream that could not transcribe a turn says so: the client hears
    ``input_audio_transcription.failed`` with the upstream's error, not an empty
    completed transcript."""
    provider = ScriptedProvider(lambda _c: [])
    session: dict[str, Any] = (
        {"type": "realtime", "audio": {"input": {"transcription": {"model": "whisper-1"}}}}
        if dialect is Dialect.GA
        else {"input_audio_transcription": {"model": "whisper-1"}}
    )
    async with Harness(provider, dialect) as client:
        await client.send({"type": "session.update", "session": session})
        await client.wait_for("session.updated")
        await provider.sessions[0].emit(
            n.SpeechStarted(item_id="item_s1", audio_start_ms=0),
            n.SpeechStopped(item_id="item_s1", audio_end_ms=500),
            n.InputTranscript(
                item_id="item_s1",
                text="",
                final=True,
                error=n.TranscriptError(code="audio_unintelligible", message="No speech."),
            ),
        )
        failed = await client.wait_for("conversation.item.input_audio_transcription.failed")
    # (The beta SDK's session models only know OpenAI's model names.)
    validate([failed], GA if dialect is Dialect.GA else BETA)
    assert failed["item_id"] == "item_s1"
    assert failed["error"] == {
        "type": "transcription_error",
        "code": "audio_unintelligible",
        "message": "No speech.",
        "param": None,
        "event_id": None,
    }
    assert "conversation.item.input_audio_transcription.completed" not in client.types()
