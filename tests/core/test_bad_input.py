"""Each kind of bad input gets an OpenAI-shaped error event, and the session goes on."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from rtcore.dialect import Dialect
from rtcore.provider import messages as n

from .conftest import Client, Harness, ScriptedProvider

USER_TEXT = {
    "type": "conversation.item.create",
    "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
}


async def still_works(client: Client) -> None:
    """After the error, a whole text turn still completes."""
    done_before = client.types().count("response.done")
    await client.send(USER_TEXT)
    await client.send({"type": "response.create", "response": {"modalities": ["text"]}})
    done = await client.wait_for("response.done", count=done_before + 1)
    assert done["response"]["status"] == "completed"


async def error_for(client: Client, frame: dict[str, Any] | str | bytes) -> dict[str, Any]:
    count = client.types().count("error")
    if isinstance(frame, bytes):
        await client.conn.receive(frame)
    else:
        await client.send(frame)
    event = await client.wait_for("error", count=count + 1)
    assert event["event_id"].startswith("event_")
    error = event["error"]
    assert set(error) == {"type", "code", "message", "param", "event_id"}
    assert error["message"]
    return error


CASES: list[tuple[str, Any, str, str | None]] = [
    ("invalid json", '{"type": "response.create"', "invalid_json", None),
    ("not an object", "[1, 2]", "invalid_type", None),
    ("unknown type", {"type": "response.explode", "event_id": "c1"}, "invalid_value", "type"),
    ("missing type", {"event_id": "c1"}, "missing_required_parameter", "type"),
    (
        "wrong field type",
        {"type": "session.update", "event_id": "c1", "session": {"instructions": 5}},
        "invalid_type",
        "session.instructions",
    ),
    (
        "missing required field",
        {"type": "conversation.item.create", "event_id": "c1"},
        "missing_required_parameter",
        "item",
    ),
    (
        "unknown field",
        {"type": "session.update", "event_id": "c1", "session": {"volume": 11}},
        "unknown_parameter",
        "session.volume",
    ),
    (
        "invalid base64",
        {"type": "input_audio_buffer.append", "event_id": "c1", "audio": "%%%not base64%%%"},
        "invalid_value",
        "audio",
    ),
    (
        "function_call_output for an unknown call_id",
        {
            "type": "conversation.item.create",
            "event_id": "c1",
            "item": {"type": "function_call_output", "call_id": "call_nope", "output": "{}"},
        },
        "invalid_value",
        "item.call_id",
    ),
    (
        "message without role",
        {"type": "conversation.item.create", "event_id": "c1", "item": {"type": "message"}},
        "missing_required_parameter",
        "item.role",
    ),
    (
        "unknown previous_item_id",
        {**USER_TEXT, "event_id": "c1", "previous_item_id": "item_missing"},
        "item_not_found",
        "previous_item_id",
    ),
    (
        "delete an unknown item",
        {"type": "conversation.item.delete", "event_id": "c1", "item_id": "item_missing"},
        "item_not_found",
        "item_id",
    ),
    (
        "cancel with nothing active",
        {"type": "response.cancel", "event_id": "c1"},
        "response_cancel_not_active",
        None,
    ),
    (
        "commit an empty buffer",
        {"type": "input_audio_buffer.commit", "event_id": "c1"},
        "input_audio_buffer_commit_empty",
        None,
    ),
    (
        "item id too long",
        {**USER_TEXT, "event_id": "c1", "item": {**USER_TEXT["item"], "id": "x" * 33}},
        "string_above_max_length",
        "item.id",
    ),
    (
        "bad modality",
        {"type": "session.update", "event_id": "c1", "session": {"modalities": ["video"]}},
        "invalid_value",
        "session.modalities",
    ),
    (
        "bad audio format",
        {"type": "session.update", "event_id": "c1", "session": {"input_audio_format": "mp3"}},
        "invalid_value",
        "session.input_audio_format",
    ),
]


@pytest.mark.parametrize(
    ("frame", "code", "param"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_bad_input_gets_error_and_session_continues(
    provider: ScriptedProvider, frame: Any, code: str, param: str | None
) -> None:
    async with Harness(provider) as client:
        error = await error_for(client, frame)
        assert error["code"] == code
        assert error["param"] == param
        if isinstance(frame, dict) and "event_id" in frame:
            assert error["event_id"] == frame["event_id"]
        await still_works(client)


async def test_binary_frame(provider: ScriptedProvider) -> None:
    async with Harness(provider) as client:
        error = await error_for(client, b"\x00\x01")
        assert error["code"] == "invalid_event"
        await still_works(client)


async def test_oversized_message_reports_its_event_id(provider: ScriptedProvider) -> None:
    audio = base64.b64encode(b"\x00" * 100_000).decode()
    frame = json.dumps({"event_id": "big1", "type": "input_audio_buffer.append", "audio": audio})
    async with Harness(provider) as client:
        error = await error_for(client, frame)
        assert error["code"] == "message_too_large"
        assert error["event_id"] == "big1"
        assert "65536" in error["message"]
        await still_works(client)
    assert not any(isinstance(c, n.AppendAudio) for c in provider.commands)


async def test_unknown_voice_lists_real_voices_and_rejects_whole_update(
    provider: ScriptedProvider,
) -> None:
    async with Harness(provider) as client:
        error = await error_for(
            client,
            {"type": "session.update", "session": {"voice": "joanna", "instructions": "Be terse."}},
        )
        assert error["code"] == "invalid_value"
        assert error["param"] == "session.voice"
        assert "matthew" in error["message"]
        assert "tiffany" in error["message"]
        await client.send({"type": "session.update", "session": {"temperature": 0.7}})
        updated = await client.wait_for("session.updated")
        assert updated["session"]["instructions"] == ""  # the rejected update changed nothing
        assert updated["session"]["voice"] == "matthew"
        await still_works(client)


async def test_second_response_while_one_is_active(provider: ScriptedProvider) -> None:
    blocked = ScriptedProvider(lambda _c: [])  # never finishes on its own
    async with Harness(blocked) as client:
        await client.send({"type": "response.create"})
        error = await error_for(client, {"type": "response.create", "event_id": "c2"})
        assert error["code"] == "conversation_already_has_active_response"
        assert error["event_id"] == "c2"
        await client.send({"type": "response.cancel"})
        done = await client.wait_for("response.done")
        assert done["response"]["status"] == "cancelled"
        assert done["response"]["status_details"]["reason"] == "client_cancelled"
    assert any(isinstance(c, n.CancelResponse) for c in blocked.commands)


async def test_ga_session_update_needs_type_when_ga_was_signalled(
    provider: ScriptedProvider,
) -> None:
    async with Harness(provider, Dialect.GA) as client:
        error = await error_for(
            client, {"type": "session.update", "session": {"instructions": "x"}}
        )
        assert error["code"] == "missing_required_parameter"
        assert error["param"] == "session.type"
        await still_works(client)


async def test_truncate_a_user_item_is_refused(provider: ScriptedProvider) -> None:
    async with Harness(provider) as client:
        await client.send({**USER_TEXT, "item": {**USER_TEXT["item"], "id": "item_user1"}})
        error = await error_for(
            client,
            {
                "type": "conversation.item.truncate",
                "item_id": "item_user1",
                "content_index": 0,
                "audio_end_ms": 10,
            },
        )
        assert error["code"] == "invalid_value"
        await still_works(client)


async def test_size_limit_counts_bytes_not_characters(provider: ScriptedProvider) -> None:
    # 40,000 characters but 120,000 UTF-8 bytes: over the 64 KiB limit.
    text = "€" * 40_000
    frame = json.dumps(
        {"event_id": "wide1", "type": "session.update", "session": {"instructions": text}},
        ensure_ascii=False,
    )
    async with Harness(provider) as client:
        error = await error_for(client, frame)
        assert error["code"] == "message_too_large"
        assert error["event_id"] == "wide1"
        assert f"{len(frame.encode())} bytes" in error["message"]
        await still_works(client)
