"""What reaches the upstream: the session's settings in each vendor's shape (the optional
ones this provider applies included), and the conversation's edits under the upstream's
own names for its items."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rtcore.provider import messages as n
from rtcore.testing import Driver
from rtcore_openai_emulator import OpenAIRealtimeEmulator
from rtcore_openai_realtime.models import resolve_xai_voice
from rtcore_openai_realtime.provider import OpenAIRealtimeProvider
from tests.openai_upstream.conftest import WEATHER, opened


def _ask(item_id: str, text: str) -> n.AddItem:
    return n.AddItem(item=n.Message(id=item_id, role="user", text=text))


async def _text_turn(driver: Driver, response_id: str) -> n.ResponseDone:
    await driver.send(_ask(f"item_{response_id}", "Hello there"))
    await driver.send(n.CreateResponse(response_id=response_id))
    return await driver.wait_done(response_id, 30)


async def test_openai_session_settings_reach_the_upstream(
    make_provider: Callable[..., OpenAIRealtimeProvider], emulator: OpenAIRealtimeEmulator
) -> None:
    fields: dict[str, object] = {
        "instructions": "Be brief.",
        "voice": "cedar",
        "tools": (WEATHER,),
        "tool_choice": "function:get_weather",
        "turn_detection": n.TurnDetection(type="semantic_vad", eagerness="high"),
        "input_sample_rate": 24000,
        "transcription": n.Transcription(model="gpt-4o-transcribe", language="de", prompt="names"),
        "noise_reduction": "near_field",
        "speed": 1.2,
        "reasoning_effort": "low",
        "truncation": n.Truncation(type="retention_ratio", retention_ratio=0.6),
        "parallel_tool_calls": False,
    }
    async with opened(make_provider("openai"), **fields) as session:
        driver = Driver(session)
        assert (await _text_turn(driver, "resp_1")).status == "completed"
    sent = emulator.stats.updates_of(1)[-1]
    assert sent["type"] == "realtime"
    assert sent["instructions"] == "Be brief."
    assert sent["audio"]["output"] == {
        "format": {"type": "audio/pcm", "rate": 24000},
        "voice": "cedar",
        "speed": 1.2,
    }
    assert sent["audio"]["input"]["transcription"] == {
        "model": "gpt-4o-transcribe",
        "language": "de",
        "prompt": "names",
    }
    assert sent["audio"]["input"]["noise_reduction"] == {"type": "near_field"}
    assert sent["audio"]["input"]["turn_detection"]["eagerness"] == "high"
    assert sent["reasoning"] == {"effort": "low"}
    assert sent["truncation"] == {"type": "retention_ratio", "retention_ratio": 0.6}
    assert sent["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert sent["parallel_tool_calls"] is False


@pytest.mark.parametrize("vendor", ["openai", "azure"])
async def test_a_custom_voice_and_a_stored_prompt_reach_the_upstream(
    make_provider: Callable[..., OpenAIRealtimeProvider],
    emulator: OpenAIRealtimeEmulator,
    vendor: str,
) -> None:
    prompt = n.PromptRef(id="pmpt_123", version="2", variables={"city": "Paris"})
    async with opened(
        make_provider(vendor), voice="voice_abc123", custom_voice=True, prompt=prompt
    ) as session:
        driver = Driver(session)
        assert (await _text_turn(driver, "resp_1")).status == "completed"
    sent = emulator.stats.updates_of(1)[-1]
    assert sent["audio"]["output"]["voice"] == {"id": "voice_abc123"}
    assert sent["prompt"] == {"id": "pmpt_123", "version": "2", "variables": {"city": "Paris"}}
    assert "parallel_tool_calls" not in sent  # not sent unless the client set it


async def test_xai_takes_its_flat_session_shape(
    make_provider: Callable[..., OpenAIRealtimeProvider], emulator: OpenAIRealtimeEmulator
) -> None:
    async with opened(
        make_provider("xai"),
        voice="ara",
        instructions="Be brief.",
        input_sample_rate=16000,
        output_sample_rate=16000,
        reasoning_effort="none",
    ) as session:
        driver = Driver(session)
        assert (await _text_turn(driver, "resp_1")).status == "completed"
    sent = emulator.stats.updates_of(1)[-1]
    assert "type" not in sent
    assert sent["voice"] == "ara"
    assert sent["turn_detection"]["type"] == "server_vad"
    assert sent["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 16000}
    assert sent["reasoning"] == {"effort": "none"}


def test_xai_voices_are_case_insensitive() -> None:
    assert resolve_xai_voice("ARA") == "ara"
    with pytest.raises(ValueError, match="Available voices: eve"):
        resolve_xai_voice("alloy")


async def test_a_reply_is_truncated_and_deleted_under_the_upstreams_id(
    make_provider: Callable[..., OpenAIRealtimeProvider], emulator: OpenAIRealtimeEmulator
) -> None:
    emulator.realtime_factor = 0.0
    async with opened(make_provider("openai")) as session:
        driver = Driver(session)
        await _text_turn(driver, "resp_1")
        reply = n.Message(id="item_reply", role="assistant", text="You said: Hello there")
        await driver.send(
            n.AddItem(item=reply, previous_item_id="item_resp_1", source="model"),
            n.TruncateItem(item_id="item_reply", audio_end_ms=200, text="You said"),
            n.DeleteItem(item_id="item_resp_1"),
        )
        assert (await _text_turn(driver, "resp_2")).status == "completed"
    # The emulator refuses an edit of an item it does not know: none was refused.
    assert not driver.of(n.ProviderError)


async def test_a_cancelled_reply_stops_upstream_and_the_next_one_goes(
    make_provider: Callable[..., OpenAIRealtimeProvider], emulator: OpenAIRealtimeEmulator
) -> None:
    emulator.realtime_factor = 1.0
    async with opened(make_provider("openai")) as session:
        driver = Driver(session)
        await driver.send(_ask("item_1", "Tell me a story about a lighthouse keeper."))
        await driver.send(n.CreateResponse(response_id="resp_1"))
        await driver.wait(lambda: bool(driver.for_response("resp_1")), 30)
        await driver.send(n.CancelResponse(response_id="resp_1"))
        done = await driver.wait_done("resp_1", 30)
        emulator.realtime_factor = 0.0
        second = await _text_turn(driver, "resp_2")
    assert (done.status, done.reason) == ("cancelled", "client_cancelled")
    assert second.status == "completed"
    assert not driver.of(n.ProviderError)


@pytest.mark.parametrize(("eagerness", "silence_ms"), [("high", 300), ("auto", 500), ("low", 1000)])
async def test_semantic_vad_on_xai_is_its_server_vad_with_the_eagerness_as_silence(
    make_provider: Callable[..., OpenAIRealtimeProvider],
    emulator: OpenAIRealtimeEmulator,
    eagerness: str,
    silence_ms: int,
) -> None:
    """xAI detects turns by silence only: a client's semantic VAD (LiveKit's default) is
    taken, its eagerness the silence that ends a turn, rather than refused."""
    td = n.TurnDetection(type="semantic_vad", eagerness=eagerness)
    async with opened(make_provider("xai"), turn_detection=td) as session:
        driver = Driver(session)
        assert (await _text_turn(driver, "resp_1")).status == "completed"
    sent = emulator.stats.updates_of(1)[-1]
    assert sent["turn_detection"] == {"type": "server_vad", "silence_duration_ms": silence_ms}


@pytest.mark.parametrize("vendor", ["openai", "azure", "xai"])
async def test_per_response_tools_and_tool_choice_reach_the_upstream(
    make_provider: Callable[..., OpenAIRealtimeProvider], vendor: str
) -> None:
    """A session with no tools; one response offered the weather tool and told to call it."""
    options = n.ResponseOptions(tools=(WEATHER,), tool_choice="function:get_weather")
    async with opened(make_provider(vendor)) as session:
        driver = Driver(session)
        await driver.send(_ask("item_1", "Hello there"))
        await driver.send(n.CreateResponse(response_id="resp_1", options=options))
        done = await driver.wait_done("resp_1", 30)
        plain = await _text_turn(driver, "resp_2")
    assert done.status == "completed"
    [call] = [e for e in driver.of(n.ToolCall) if e.response_id == "resp_1"]
    assert call.name == "get_weather"
    # The next response, with no overrides, has the session's (no tools): it answers.
    assert plain.status == "completed"
    assert not [e for e in driver.of(n.ToolCall) if e.response_id == "resp_2"]


@pytest.mark.parametrize("vendor", ["openai", "azure"])
async def test_a_per_response_token_limit_cuts_that_response_only(
    make_provider: Callable[..., OpenAIRealtimeProvider], vendor: str
) -> None:
    options = n.ResponseOptions(max_output_tokens=2, output_modalities=("text",))
    async with opened(make_provider(vendor)) as session:
        driver = Driver(session)
        await driver.send(_ask("item_1", "Tell me a story about a lighthouse keeper."))
        await driver.send(n.CreateResponse(response_id="resp_1", options=options))
        cut = await driver.wait_done("resp_1", 30)
        whole = await _text_turn(driver, "resp_2")
    assert (cut.status, cut.reason) == ("incomplete", "max_output_tokens")
    assert whole.status == "completed"


@pytest.mark.parametrize("vendor", ["openai", "azure"])
async def test_per_response_reasoning_parallel_calls_and_prompt_reach_the_upstream(
    make_provider: Callable[..., OpenAIRealtimeProvider],
    emulator: OpenAIRealtimeEmulator,
    vendor: str,
) -> None:
    """OpenAI's response.create takes reasoning, parallel_tool_calls and a stored prompt
    for one response (SDK realtime_response_create_params.py): they go upstream as asked."""
    response_id = f"resp_models_{vendor}"
    options = n.ResponseOptions(
        reasoning_effort="high",
        parallel_tool_calls=False,
        prompt=n.PromptRef(id="pmpt_1", version="2", variables={"city": "Paris"}),
    )
    async with opened(make_provider(vendor)) as session:
        driver = Driver(session)
        await driver.send(_ask("item_1", "Hello there"))
        await driver.send(n.CreateResponse(response_id=response_id, options=options))
        done = await driver.wait_done(response_id, 30)
    assert done.status == "completed"
    [sent] = [
        r
        for r in emulator.stats.response_creates
        if r.get("metadata", {}).get("rtcore_response_id") == response_id
    ]
    assert sent["reasoning"] == {"effort": "high"}
    assert sent["parallel_tool_calls"] is False
    assert sent["prompt"] == {"id": "pmpt_1", "version": "2", "variables": {"city": "Paris"}}
