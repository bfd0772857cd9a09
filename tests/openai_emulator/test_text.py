"""Text turns: the GA event order (reference §3.2), usage and rate limits."""

from __future__ import annotations

from typing import Any

from rtcore_openai_emulator import OpenAIRealtimeEmulator

from .conftest import MODEL, openai_client, say_text, text_session, types_of, until


async def test_session_created_has_the_ga_defaults(emulator: OpenAIRealtimeEmulator) -> None:
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        created = await until(conn, "session.created")
    session = created.session
    assert session.type == "realtime"
    assert session.model == MODEL
    assert session.output_modalities == ["audio"]
    assert session.audio.output.voice == "alloy"
    assert session.audio.input.format.type == "audio/pcm"
    assert session.audio.input.format.rate == 24000
    detection = session.audio.input.turn_detection
    assert (detection.type, detection.threshold, detection.prefix_padding_ms) == (
        "server_vad",
        0.5,
        300,
    )
    assert detection.silence_duration_ms == 200
    assert detection.create_response
    assert detection.interrupt_response
    assert session.max_output_tokens == "inf"


async def test_text_turn_in_ga_order(emulator: OpenAIRealtimeEmulator) -> None:
    events: list[Any] = []
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await text_session(conn)
        await say_text(conn, "Hello there.")
        await conn.response.create()
        await until(conn, "rate_limits.updated", events)
    kinds = types_of(events)
    deltas = kinds.count("response.output_text.delta")
    assert deltas >= 2
    assert kinds == [
        "conversation.item.added",
        "conversation.item.done",
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * deltas,
        "response.output_text.done",
        "response.content_part.done",
        "conversation.item.done",
        "response.output_item.done",
        "response.done",
        "rate_limits.updated",
    ]
    created = events[2].response
    assert (created.status, created.output, created.usage) == ("in_progress", [], None)
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "You said: Hello there."
    done = events[-2].response
    assert done.status == "completed"
    assert done.output[0].content[0].text == "You said: Hello there."
    usage = done.usage
    assert usage.input_tokens > 0
    assert usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_token_details.audio_tokens == 0
    assert usage.input_token_details.cached_tokens == 0
    assert usage.output_token_details.text_tokens == usage.output_tokens
    limits = events[-1].rate_limits
    assert limits[0].name == "tokens"
    assert limits[0].remaining < limits[0].limit
    assert emulator.stats.responses == 1


async def test_second_response_reports_the_first_context_as_cached(
    emulator: OpenAIRealtimeEmulator,
) -> None:
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await text_session(conn)
        await say_text(conn, "Hello.")
        await conn.response.create()
        first = (await until(conn, "response.done")).response.usage
        await say_text(conn, "Thank you, goodbye.")
        await conn.response.create()
        second = (await until(conn, "response.done")).response.usage
    assert second.input_tokens > first.input_tokens
    assert second.input_token_details.cached_tokens == first.input_tokens


async def test_a_second_response_while_one_runs_is_refused(
    emulator: OpenAIRealtimeEmulator,
) -> None:
    emulator.realtime_factor = 1.0
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await say_text(conn, "Tell me a story about a lighthouse keeper.")
        await conn.response.create()
        await until(conn, "response.output_audio.delta")
        await conn.response.create(event_id="evt_second")
        error = await until(conn, "error")
        assert error.error.code == "conversation_already_has_active_response"
        assert error.error.event_id == "evt_second"
        await conn.response.cancel()
        done = await until(conn, "response.done")
    assert done.response.status == "cancelled"
    assert done.response.status_details.reason == "client_cancelled"
