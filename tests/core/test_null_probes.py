"""Explicit ``null`` means absent: every field the openai SDK's models mark Optional, at every
depth, sent as ``null`` in an otherwise valid event, is answered exactly as the event without
that field is: accepted, as nearly all are (the SDKs' Optional fields, LiveKit's
``instructions: null``), or refused as missing where the API needs the field (the SDK's
models mark even an item's ``type`` Optional). Where ``null`` means something in OpenAI's
API (``turn_detection: null`` turns server VAD off) it keeps that meaning.

The probes come from the SDK's own pydantic models (GA: ``openai.types.realtime``; beta:
``openai.types.beta.realtime``), walked along rich, valid base events."""

from __future__ import annotations

import copy
import json
import types
import typing
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
from openai.types.beta.realtime import realtime_client_event as beta_events
from openai.types.realtime import realtime_client_event as ga_events

from rtcore.dialect import Dialect

from .conftest import Harness, ScriptedProvider, text_reply

TOOL = {"type": "function", "name": "get_weather", "description": "Weather", "parameters": {}}
USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}
GA_BASES: list[dict[str, Any]] = [
    {
        "type": "session.update",
        "event_id": "e1",
        "session": {
            "type": "realtime",
            "instructions": "Be brief.",
            "output_modalities": ["audio"],
            "max_output_tokens": 200,
            "tools": [TOOL],
            "tool_choice": "auto",
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "transcription": {"model": "whisper-1", "language": "en", "prompt": "x"},
                    "turn_detection": {
                        "type": "server_vad",
                        "threshold": 0.5,
                        "prefix_padding_ms": 300,
                        "silence_duration_ms": 500,
                        "create_response": True,
                        "interrupt_response": True,
                    },
                    "noise_reduction": {"type": "near_field"},
                },
                "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy"},
            },
        },
    },
    {
        "type": "conversation.item.create",
        "event_id": "e2",
        "previous_item_id": "root",
        "item": USER,
    },
    {
        "type": "response.create",
        "event_id": "e3",
        "response": {
            "instructions": "Say hi.",
            "output_modalities": ["text"],
            "max_output_tokens": 100,
            "metadata": {"k": "v"},
            "conversation": "auto",
            "tools": [TOOL],
            "tool_choice": "auto",
        },
    },
    {"type": "input_audio_buffer.append", "event_id": "e4", "audio": "AAAAAA=="},
    {"type": "input_audio_buffer.clear", "event_id": "e5"},
    {"type": "response.cancel", "event_id": "e6", "response_id": "resp_x"},
]
BETA_BASES: list[dict[str, Any]] = [
    {
        "type": "session.update",
        "event_id": "e1",
        "session": {
            "instructions": "Be brief.",
            "modalities": ["text", "audio"],
            "voice": "alloy",
            "input_audio_format": "pcm16",
            "output_audio_format": "pcm16",
            "input_audio_transcription": {"model": "whisper-1", "language": "en"},
            "turn_detection": {"type": "server_vad", "threshold": 0.5, "silence_duration_ms": 500},
            "tools": [TOOL],
            "tool_choice": "auto",
            "temperature": 0.8,
            "max_response_output_tokens": "inf",
        },
    },
    {"type": "conversation.item.create", "event_id": "e2", "item": USER},
    {
        "type": "response.create",
        "event_id": "e3",
        "response": {
            "instructions": "Say hi.",
            "modalities": ["text"],
            "max_response_output_tokens": 100,
            "metadata": {"k": "v"},
            "conversation": "auto",
            "tools": [TOOL],
        },
    },
    {"type": "input_audio_buffer.append", "event_id": "e4", "audio": "AAAAAA=="},
    {"type": "input_audio_buffer.clear", "event_id": "e5"},
]
# Cancelling nothing is an error whatever its event_id: probed with a response open.
_NEEDS_RESPONSE = {"response.cancel"}


def _members(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(annotation) for m in _members(a)]
    return [annotation]


def _optional(annotation: Any) -> bool:
    return type(None) in _members(annotation)


def _models(annotation: Any) -> list[type[pydantic.BaseModel]]:
    out: list[type[pydantic.BaseModel]] = []
    for member in _members(annotation):
        if typing.get_origin(member) in (list, typing.List):  # noqa: UP006
            out += _models(typing.get_args(member)[0])
        elif isinstance(member, type) and issubclass(member, pydantic.BaseModel):
            out.append(member)
    return out


def _fits(model: type[pydantic.BaseModel], value: dict[str, Any]) -> bool:
    keys = {f.alias or n for n, f in model.model_fields.items()}
    literal = model.model_fields.get("type")
    if literal is not None and "type" in value:
        allowed = [a for m in _members(literal.annotation) for a in typing.get_args(m)]
        if allowed and value["type"] not in allowed:
            return False
    return set(value) <= keys


def probes(
    value: dict[str, Any], model: type[pydantic.BaseModel], path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """(path, annotation) of every Optional field of ``model`` under ``value``."""
    for name, field in model.model_fields.items():
        key = field.alias or name
        if _optional(field.annotation):
            yield (*path, key), field.annotation
        child = value.get(key)
        targets = [child] if isinstance(child, dict) else []
        if isinstance(child, list) and child and isinstance(child[0], dict):
            targets, path_key = [child[0]], (*path, key, 0)
        else:
            path_key = (*path, key)
        for target in targets:
            for sub in _models(field.annotation):
                if _fits(sub, target):
                    yield from probes(target, sub, path_key)
                    break


def with_null(event: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    out = copy.deepcopy(event)
    node: Any = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = None
    return out


def without(event: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    out = copy.deepcopy(event)
    node: Any = out
    for step in path[:-1]:
        node = node[step]
    node.pop(path[-1], None)
    return out


def _event_models(union: Any) -> dict[str, type[pydantic.BaseModel]]:
    table: dict[str, type[pydantic.BaseModel]] = {}
    for model in _models(union):
        for literal in typing.get_args(model.model_fields["type"].annotation):
            table[literal] = model
    return table


Case = tuple[str, dict[str, Any], dict[str, Any]]  # name, with null, without the field


def cases(union: Any, bases: list[dict[str, Any]]) -> list[Case]:
    models = _event_models(union)
    out = []
    for base in bases:
        for path, _ in probes(base, models[base["type"]]):
            name = f"{base['type']}:{'.'.join(map(str, path))}"
            out.append((name, with_null(base, path), without(base, path)))
    return out


GA_CASES = cases(ga_events.RealtimeClientEvent, GA_BASES)
BETA_CASES = cases(beta_events.RealtimeClientEvent, BETA_BASES)


def test_the_probes_cover_the_sdks_optional_fields() -> None:
    # A probe list that shrank (an SDK model renamed, a base event gone) would pass vacuously.
    assert len(GA_CASES) >= 60
    assert len(BETA_CASES) >= 40
    names = {name for name, _, _ in GA_CASES}
    assert "response.create:response.instructions" in names
    assert "session.update:session.audio.input.turn_detection" in names
    assert "session.update:event_id" in names


def _silent(_command: Any) -> list[Any]:
    return []  # a response stays open (for response.cancel)


async def outcome(dialect: Dialect, event: dict[str, Any]) -> list[str]:
    """The error codes the event gets (empty: accepted)."""
    async with Harness(ScriptedProvider(_silent), dialect) as client:
        if event["type"] in _NEEDS_RESPONSE:
            await client.send({"type": "response.create"})
            await client.wait_for("response.created")
        await client.send(json.dumps(event))
        await client.send({"type": "conversation.item.retrieve", "item_id": "nope"})
        await client.wait_for("error")  # the sentinel: everything before it was handled
        errors = [e["error"] for e in client.events if e["type"] == "error"]
    assert errors[-1]["code"] == "item_not_found"
    return [f"{e['code']} {e['param']}" for e in errors[:-1]]


@pytest.mark.parametrize(
    ("dialect", "probes_"), [(Dialect.GA, GA_CASES), (Dialect.BETA, BETA_CASES)]
)
async def test_every_optional_field_sent_as_null_is_taken_as_absent(
    dialect: Dialect, probes_: list[Case]
) -> None:
    differ, accepted = [], 0
    for name, nulled, omitted in probes_:
        got, expected = await outcome(dialect, nulled), await outcome(dialect, omitted)
        if got != expected:
            differ.append(f"{name}: {got} instead of {expected}")
        accepted += not got
    assert differ == []
    # Nearly every Optional field may simply be left out: only what the API needs is refused.
    assert accepted >= len(probes_) * 0.85, accepted


async def test_null_turn_detection_still_turns_server_vad_off() -> None:
    async with Harness(ScriptedProvider(text_reply), Dialect.GA) as client:
        event = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}
        await client.send({"type": "session.update", "session": event})
        updated = await client.wait_for("session.updated")
    assert updated["session"]["audio"]["input"]["turn_detection"] is None


async def test_null_previous_item_id_appends() -> None:
    async with Harness(ScriptedProvider(text_reply), Dialect.GA) as client:
        await client.send({"type": "conversation.item.create", "item": {**USER, "id": "a"}})
        await client.send(
            {
                "type": "conversation.item.create",
                "previous_item_id": None,
                "item": {**USER, "id": "b"},
            }
        )
        added = await client.wait_for("conversation.item.added", 2)
    assert added["previous_item_id"] == "a"
