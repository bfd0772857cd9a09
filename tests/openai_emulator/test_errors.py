"""Refusals in each vendor's style and the non-fatal errors (reference §3.6, §2)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai import AsyncOpenAI
from websockets.exceptions import InvalidStatus

from rtcore_openai_emulator import OpenAIRealtimeEmulator

from .conftest import (
    MODEL,
    azure_client,
    azure_preview_client,
    openai_client,
    until,
    until_closed,
)


async def closing_events(client: AsyncOpenAI, model: str, **options: Any) -> tuple[list[Any], int]:
    return await until_closed(client, model, **options)


async def test_bad_key_is_an_error_then_3000() -> None:
    async with OpenAIRealtimeEmulator(rejected_keys=["sk-revoked-key-1234"]) as emu:
        events, code = await closing_events(openai_client(emu, "sk-revoked-key-1234"), MODEL)
        assert code == 3000
        assert [e.type for e in events] == ["error"]
        assert events[0].error.code == "invalid_api_key"
        assert "1234" in events[0].error.message
        assert "sk-revoked-key-1234" not in events[0].error.message
        assert emu.stats.closes[0].reason == "invalid_request_error.invalid_api_key"


async def test_only_listed_keys_are_accepted() -> None:
    async with OpenAIRealtimeEmulator(api_keys=["sk-good"]) as emu:
        _, code = await closing_events(openai_client(emu, "sk-other"), MODEL)
        assert code == 3000
        async with openai_client(emu, "sk-good").realtime.connect(model=MODEL) as conn:
            await until(conn, "session.created")


async def test_unknown_model_is_an_error_then_4000(emulator: OpenAIRealtimeEmulator) -> None:
    events, code = await closing_events(openai_client(emulator), "gpt-4o")
    assert code == 4000
    assert events[0].error.code == "invalid_model"


async def test_beta_header_is_refused(emulator: OpenAIRealtimeEmulator) -> None:
    events, code = await closing_events(
        openai_client(emulator), MODEL, extra_headers={"OpenAI-Beta": "realtime=v1"}
    )
    assert code == 4000
    assert events[0].error.code == "beta_api_shape_disabled"


async def test_azure_refuses_at_the_handshake() -> None:
    async with OpenAIRealtimeEmulator(rejected_keys=["bad-azure-key"]) as emu:
        with pytest.raises(InvalidStatus) as bad_model:
            async with azure_client(emu).realtime.connect(model="gpt-4o"):
                pass
        assert bad_model.value.response.status_code == 400
        body = json.loads(bad_model.value.response.body or b"{}")
        assert body["error"]["code"] == "OpperationNotSupported"
        with pytest.raises(InvalidStatus) as bad_key:
            async with azure_client(emu, "bad-azure-key").realtime.connect(model=MODEL):
                pass
        assert bad_key.value.response.status_code == 401
        assert emu.stats.refused == 2
        assert emu.stats.connections == 0


async def test_azure_ga_and_preview_paths_serve_a_deployment() -> None:
    async with OpenAIRealtimeEmulator(
        realtime_factor=0.0, deployments={"my-voice-bot": "gpt-realtime-mini"}
    ) as emu:
        async with azure_client(emu).realtime.connect(model="my-voice-bot") as conn:
            created = await until(conn, "session.created")
            assert created.session.model == "my-voice-bot"
        preview = azure_preview_client(emu)
        async with preview.realtime.connect(model="my-voice-bot") as conn:
            await until(conn, "session.created")
        assert emu.stats.connections == 2


async def test_session_update_errors_keep_the_session(emulator: OpenAIRealtimeEmulator) -> None:
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await until(conn, "session.created")
        await conn.session.update(session={"instructions": "x"}, event_id="evt_no_type")  # type: ignore[typeddict-item]
        missing = await until(conn, "error")
        assert missing.error.code == "missing_required_parameter"
        assert missing.error.param == "session.type"
        assert missing.error.event_id == "evt_no_type"
        await conn.send(
            {"type": "session.update", "session": {"type": "realtime", "bogus_field": 1}}
        )
        unknown = await until(conn, "error")
        assert (unknown.error.code, unknown.error.param) == (
            "unknown_parameter",
            "session.bogus_field",
        )
        await conn.session.update(
            session={
                "type": "realtime",
                "instructions": "Be brief.",
                "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}},
            }
        )
        rate = await until(conn, "error")
        assert rate.error.code == "integer_below_min_value"
        assert rate.error.param == "session.audio.input.format.rate"
        await conn.send({"type": "output_audio_buffer.clear"})
        bad_type = await until(conn, "error")
        assert (bad_type.error.code, bad_type.error.param) == ("invalid_value", "type")
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        updated = await until(conn, "session.updated")
    # The rejected update's instructions were discarded with it.
    assert updated.session.instructions != "Be brief."
    assert updated.session.output_modalities == ["text"]


async def test_parallel_tool_calls_is_a_ga_session_field(emulator: OpenAIRealtimeEmulator) -> None:
    """The SDK's GA session takes it (reasoning models): a boolean is kept, anything else is
    an error that keeps the session."""
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await until(conn, "session.created")
        await conn.session.update(session={"type": "realtime", "parallel_tool_calls": "yes"})  # type: ignore[typeddict-item]
        wrong = await until(conn, "error")
        assert (wrong.error.code, wrong.error.param) == (
            "invalid_type",
            "session.parallel_tool_calls",
        )
        await conn.session.update(session={"type": "realtime", "parallel_tool_calls": False})
        await until(conn, "session.updated")
    assert emulator.stats.updates_of(1)[-1]["parallel_tool_calls"] is False
