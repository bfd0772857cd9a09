"""The echo provider, driven directly through the neutral interface."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
from collections.abc import AsyncIterator

import msgspec
import numpy as np
import pytest
from echo_harness import Harness, open_echo, silence, tone

from rtcore.plugins import load_plugins
from rtcore.provider import ModelConfig, ProviderUnavailable
from rtcore.provider.messages import (
    AddItem,
    AppendAudio,
    AudioDelta,
    CancelResponse,
    ClearAudio,
    CommitAudio,
    Configure,
    CreateResponse,
    DeleteItem,
    Event,
    FunctionCall,
    FunctionCallOutput,
    InputTranscript,
    Message,
    ResponseDone,
    ResponseOptions,
    ResponseStarted,
    SessionConfig,
    SpeechStarted,
    SpeechStopped,
    TextDelta,
    ToolCall,
    ToolDef,
    TranscriptDelta,
    TruncateItem,
    TurnDetection,
)
from rtcore_echo import EchoProvider

TEXT = ResponseOptions(output_modalities=("text",))
AUDIO = ResponseOptions(output_modalities=("audio",))
MANUAL = SessionConfig(model="echo-1", turn_detection=None)
WEATHER = ToolDef(
    name="get_weather",
    description="Get the current weather for a location",
    parameters={
        "type": "object",
        "properties": {"location": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["location", "days"],
    },
)


@pytest.fixture
async def echo() -> AsyncIterator[Harness]:
    harness = await open_echo(MANUAL)
    yield harness
    await harness.close()


def user(text: str | None, item_id: str = "item_u1") -> Message:
    return Message(id=item_id, role="user", text=text)


def anon(events: list[Event]) -> list[Event]:
    """The events with their item and response ids blanked (the provider mints them)."""
    out: list[Event] = []
    for e in events:
        if hasattr(e, "item_id"):
            e = msgspec.structs.replace(e, item_id="*")
        if hasattr(e, "response_id"):
            e = msgspec.structs.replace(e, response_id="*")
        out.append(e)
    return out


def of[T](kind: type[T], events: list[Event]) -> list[T]:
    return [e for e in events if isinstance(e, kind)]


def peak_hz(pcm: bytes, rate: int) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(np.abs(np.fft.rfft(x))))])


# -- the plugin ------------------------------------------------------------------------------


def test_entry_point_is_installed() -> None:
    eps = {ep.name: ep for ep in importlib.metadata.entry_points(group="rtcore")}
    assert "echo" in eps, "rtcore-echo is not installed: pip install -e tests/plugins/rtcore-echo"
    assert eps["echo"].value == "rtcore_echo"
    assert eps["echo"].dist is not None
    assert eps["echo"].dist.name == "rtcore-echo"


def test_loaded_by_the_plugin_host() -> None:
    host = load_plugins()
    spec = host.providers()["echo"]
    assert spec.default_model == "echo-1"
    assert spec.models == ("echo-1",)
    assert spec.model_prefixes == ("echo",)
    assert spec.claims("echo-1")
    assert not spec.claims("gpt-4o-realtime")
    info = {p.name: p for p in host.info()}
    assert info["echo"].distribution == "rtcore-echo"
    assert info["echo"].hooks == (
        "rtcore_http_routes",
        "rtcore_register_providers",
        "rtcore_session_ended",
    )


def test_capabilities() -> None:
    caps = EchoProvider(ModelConfig(name="e", provider="echo", model="echo-1")).capabilities
    assert caps.input_sample_rates == (16000, 24000)
    assert caps.output_sample_rates == (24000,)
    assert caps.voices == ("alloy", "echo-voice")
    assert caps.default_voice == "alloy"
    assert caps.server_vad
    assert caps.manual_commit
    assert caps.tools


def test_bad_params_fail_when_the_model_is_built() -> None:
    with pytest.raises(ValueError, match="chunk_delay_ms"):
        EchoProvider(
            ModelConfig(name="e", provider="echo", model="m", params={"chunk_delay_ms": "x"})
        )
    with pytest.raises(ValueError, match="ms_per_char"):
        EchoProvider(ModelConfig(name="e", provider="echo", model="m", params={"ms_per_char": 0}))


async def test_unavailable_param_refuses_sessions() -> None:
    provider = EchoProvider(
        ModelConfig(name="e", provider="echo", model="m", params={"unavailable": "down for tests"})
    )
    with pytest.raises(ProviderUnavailable, match="down for tests"):
        await provider.open_session(SessionConfig(model="m"))


# -- text responses --------------------------------------------------------------------------


async def test_text_reply_streams_word_by_word(echo: Harness) -> None:
    await echo.send(
        AddItem(item=user("hello big world")), CreateResponse(response_id="r1", options=TEXT)
    )
    events = await echo.until_done()
    assert [e.text for e in of(TextDelta, events)] == ["You", " said:", " hello", " big", " world"]
    done = events[-1]
    assert done == ResponseDone(response_id="r1", status="completed", usage=done.usage)
    assert done.usage.output_text_tokens == 7  # ⌈len("You said: hello big world") / 4⌉
    assert done.usage.input_text_tokens == 4  # ⌈len("hello big world") / 4⌉
    assert done.usage.output_audio_tokens == 0


async def test_greeting_without_user_text(echo: Harness) -> None:
    await echo.send(CreateResponse(response_id="r1", options=TEXT))
    events = await echo.until_done()
    assert "".join(e.text for e in of(TextDelta, events)) == "Hello from echo."


async def test_session_modalities_apply_when_the_response_names_none() -> None:
    echo = await open_echo(SessionConfig(model="echo-1", output_modalities=("text",)))
    await echo.send(AddItem(item=user("hi")), CreateResponse(response_id="r1"))
    events = await echo.until_done()
    assert "".join(e.text for e in of(TextDelta, events)) == "You said: hi"
    assert not of(AudioDelta, events)
    await echo.close()


async def test_max_output_tokens_cuts_the_reply(echo: Harness) -> None:
    options = ResponseOptions(output_modalities=("text",), max_output_tokens=4)
    await echo.send(
        AddItem(item=user("one two three four")), CreateResponse(response_id="r", options=options)
    )
    events = await echo.until_done()
    assert "".join(e.text for e in of(TextDelta, events)) == "You said: one"
    assert events[-1].status == "incomplete"  # type: ignore[union-attr]
    assert events[-1].reason == "max_output_tokens"  # type: ignore[union-attr]


# -- audio responses -------------------------------------------------------------------------


async def test_audio_reply_is_a_tone_with_its_transcript(echo: Harness) -> None:
    await echo.send(AddItem(item=user("hi there")), CreateResponse(response_id="r", options=AUDIO))
    events = await echo.until_done()
    text = "You said: hi there"
    assert "".join(e.text for e in of(TranscriptDelta, events)) == text
    assert [e.text for e in of(TranscriptDelta, events)] == ["You", " said:", " hi", " there"]
    chunks = [e.pcm for e in of(AudioDelta, events)]
    assert all(len(c) == 24000 * 40 // 1000 * 2 for c in chunks[:-1])  # 40 ms at 24 kHz
    audio = b"".join(chunks)
    assert len(audio) == 24000 * 60 * len(text) // 1000 * 2  # 60 ms per character
    assert peak_hz(audio, 24000) == pytest.approx(440, abs=2)
    assert not of(TextDelta, events)
    # Transcript and audio interleave, the first word leading.
    assert isinstance(events[0], TranscriptDelta)
    kinds = [type(e) for e in events[:-1]]
    assert kinds.index(TranscriptDelta, 1) < len(kinds) // 2
    assert events[-1].usage.output_audio_tokens == 60 * len(text) // 50  # type: ignore[union-attr]


async def test_voice_picks_the_tone(echo: Harness) -> None:
    options = ResponseOptions(output_modalities=("audio",), voice="echo-voice")
    await echo.send(CreateResponse(response_id="r", options=options))
    events = await echo.until_done()
    assert peak_hz(b"".join(e.pcm for e in of(AudioDelta, events)), 24000) == pytest.approx(
        330, abs=2
    )


# -- tools -----------------------------------------------------------------------------------


async def test_tool_call_then_tool_output_reply() -> None:
    echo = await open_echo(SessionConfig(model="echo-1", tools=(WEATHER,), turn_detection=None))
    await echo.send(
        AddItem(item=user("What's the weather in San Francisco?")),
        CreateResponse(response_id="r1", options=TEXT),
    )
    events = await echo.until_done()
    assert len(events) == 2
    call, done = events
    assert isinstance(call, ToolCall)
    assert call.name == "get_weather"
    assert call.call_id.startswith("call_")
    assert len(call.call_id) > len("call_")
    assert json.loads(call.arguments) == {"location": "San Francisco"}
    assert anon([done])[0] == ResponseDone(response_id="*", usage=done.usage)  # type: ignore[union-attr]

    await echo.send(
        AddItem(
            item=FunctionCall(
                id="item_f", call_id=call.call_id, name=call.name, arguments=call.arguments
            ),
            previous_item_id="item_u1",
        ),
        AddItem(
            item=FunctionCallOutput(id="item_o", call_id=call.call_id, output="sunny"),
            previous_item_id="item_f",
        ),
        CreateResponse(response_id="r2", options=TEXT),
    )
    events = await echo.until_done()
    assert "".join(e.text for e in of(TextDelta, events)) == "The tool said: sunny"
    await echo.close()


@pytest.mark.parametrize(
    ("text", "tool_choice", "called"),
    [
        ("call get_weather please", "auto", True),  # the name
        ("is it WEATHER time", "auto", True),  # a description word, any case
        ("the current state", "auto", True),  # "current" is in the description
        ("for a cat", "auto", False),  # short description words do not count
        ("weather in Paris", "none", False),
        ("hello", "required", True),
        ("hello", "get_weather", True),
    ],
)
async def test_tool_matching(text: str, tool_choice: str, called: bool) -> None:
    config = SessionConfig(
        model="echo-1", tools=(WEATHER,), tool_choice=tool_choice, turn_detection=None
    )
    echo = await open_echo(config)
    await echo.send(AddItem(item=user(text)), CreateResponse(response_id="r", options=TEXT))
    events = await echo.until_done()
    assert bool(of(ToolCall, events)) == called
    await echo.close()


async def test_tool_argument_falls_back_to_unknown(echo: Harness) -> None:
    options = ResponseOptions(output_modalities=("text",), tools=(WEATHER,))
    await echo.send(
        AddItem(item=user("weather please")), CreateResponse(response_id="r", options=options)
    )
    (call,) = of(ToolCall, await echo.until_done())
    assert json.loads(call.arguments) == {"location": "unknown"}


# -- conversation ----------------------------------------------------------------------------


async def test_conversation_edits_change_the_reply(echo: Harness) -> None:
    await echo.send(
        AddItem(item=user("first", "a")),
        AddItem(item=user("second", "b"), previous_item_id="a"),
        DeleteItem(item_id="b"),
        CreateResponse(response_id="r1", options=TEXT),
    )
    assert "".join(e.text for e in of(TextDelta, await echo.until_done())) == "You said: first"
    await echo.send(
        TruncateItem(item_id="a", audio_end_ms=100, text="fir"),
        CreateResponse(response_id="r2", options=TEXT),
    )
    assert "".join(e.text for e in of(TextDelta, await echo.until_done())) == "You said: fir"
    # previous_item_id None inserts at the start, so "a" stays the latest user message.
    await echo.send(
        AddItem(item=user("zeroth", "z")), CreateResponse(response_id="r3", options=TEXT)
    )
    assert "".join(e.text for e in of(TextDelta, await echo.until_done())) == "You said: fir"


async def test_configure_replaces_the_config(echo: Harness) -> None:
    config = SessionConfig(model="echo-1", output_modalities=("text",), turn_detection=None)
    await echo.send(Configure(config=config, changed=frozenset({"output_modalities"})))
    await echo.send(CreateResponse(response_id="r"))
    assert of(TextDelta, await echo.until_done())


# -- cancelling and ordering ------------------------------------------------------------------


async def test_cancel_stops_streaming() -> None:
    echo = await open_echo(MANUAL, chunk_delay_ms=20)
    await echo.send(
        AddItem(item=user("a fairly long sentence to speak")),
        CreateResponse(response_id="r", options=AUDIO),
    )
    first = [await echo.next(), await echo.next()]
    await echo.send(CancelResponse(response_id="r"))
    rest = await echo.until_done()
    done = rest[-1]
    assert isinstance(done, ResponseDone)
    assert (done.status, done.reason) == ("cancelled", "client_cancelled")
    assert len(of(AudioDelta, first + rest)) < 5  # the full reply has 49 chunks
    assert done.usage.output_audio_tokens < 10
    # Nothing follows the ResponseDone; cancelling again does nothing.
    await echo.send(CancelResponse(response_id="r"))
    assert await echo.quiet() == []
    await echo.close()


async def test_a_second_create_waits_for_the_first(echo: Harness) -> None:
    await echo.send(
        AddItem(item=user("one")),
        CreateResponse(response_id="r1", options=TEXT),
        CreateResponse(response_id="r2", options=TEXT),
    )
    events = await echo.until_done(2)
    texts = [e.text if isinstance(e, TextDelta) else "|" for e in events]
    assert "".join(texts) == "You said: one|You said: one|"


async def test_aclose_ends_a_streaming_response_and_the_events() -> None:
    echo = await open_echo(MANUAL, chunk_delay_ms=50)
    await echo.send(CreateResponse(response_id="r", options=TEXT))
    await echo.next()
    rest = await echo.close()
    assert isinstance(rest[-1], ResponseDone)
    assert rest[-1].status == "cancelled"
    with pytest.raises(RuntimeError, match="closed"):
        await echo.session.send(CancelResponse(response_id="r"))
    await echo.session.aclose()  # idempotent


async def test_provider_aclose_closes_its_sessions() -> None:
    provider = EchoProvider(ModelConfig(name="e", provider="echo", model="echo-1"))
    session = await provider.open_session(SessionConfig(model="echo-1"))
    await provider.aclose()
    assert [e async for e in session.events()] == []


# -- audio input -----------------------------------------------------------------------------


async def test_server_vad_turn() -> None:
    echo = await open_echo(SessionConfig(model="echo-1"))
    await echo.send(
        AppendAudio(pcm=silence(200)), AppendAudio(pcm=tone(1000)), AppendAudio(pcm=silence(600))
    )
    events = await echo.until_done()
    assert anon(events[:4]) == [
        SpeechStarted(item_id="*", audio_start_ms=200),
        SpeechStopped(item_id="*", audio_end_ms=1700),  # 500 ms of silence after the speech
        InputTranscript(item_id="*", text="(spoken 1000 ms)", final=True),
        ResponseStarted(response_id="*"),
    ]
    # One item id for the turn, and the response's own id on its output and its done.
    assert len({e.item_id for e in events[:3]}) == 1  # type: ignore[union-attr]
    started = events[3]
    assert isinstance(started, ResponseStarted)
    assert {e.response_id for e in events[4:]} == {started.response_id}  # type: ignore[union-attr]
    assert "".join(e.text for e in of(TranscriptDelta, events)) == "I heard you."
    assert of(AudioDelta, events)
    assert events[-1].status == "completed"  # type: ignore[union-attr]
    assert events[-1].usage.input_audio_tokens == 18  # type: ignore[union-attr]
    await echo.close()


async def test_vad_at_24k_with_configured_silence_and_no_auto_response() -> None:
    td = TurnDetection(silence_duration_ms=200, create_response=False)
    echo = await open_echo(
        SessionConfig(model="echo-1", turn_detection=td, input_sample_rate=24000)
    )
    audio = silence(100, 24000) + tone(500, 24000) + silence(300, 24000)
    # Odd, frame-straddling chunk sizes must not matter.
    for i in range(0, len(audio), 777):
        await echo.send(AppendAudio(pcm=audio[i : i + 777]))
    events = [await echo.next() for _ in range(3)]
    assert anon(events) == [
        SpeechStarted(item_id="*", audio_start_ms=100),
        SpeechStopped(item_id="*", audio_end_ms=800),
        InputTranscript(item_id="*", text="(spoken 500 ms)", final=True),
    ]
    assert await echo.quiet() == []
    await echo.close()


async def test_barge_in_cancels_the_response() -> None:
    echo = await open_echo(SessionConfig(model="echo-1"), chunk_delay_ms=20)
    await echo.send(
        AddItem(item=user("tell me a long story please")),
        CreateResponse(response_id="r", options=AUDIO),
    )
    await echo.next()
    await echo.send(AppendAudio(pcm=tone(100)))
    events = await echo.until_done()
    assert anon(events[-2:-1]) == [SpeechStarted(item_id="*", audio_start_ms=0)]
    assert events[-1].response_id == "r"  # type: ignore[union-attr]
    assert (events[-1].status, events[-1].reason) == ("cancelled", "turn_detected")  # type: ignore[union-attr]
    await echo.close()


async def test_manual_commit() -> None:
    echo = await open_echo(MANUAL)
    await echo.send(AppendAudio(pcm=tone(1000)), AppendAudio(pcm=silence(500)))
    assert await echo.quiet() == []  # no turn detection: nothing until the commit
    # As the core does: the commit, then the user item it made of the audio.
    spoken = Message(id="item_a", role="user", has_audio=True)
    await echo.send(CommitAudio(item_id="item_a"), AddItem(item=spoken, source="audio"))
    assert await echo.next() == InputTranscript(item_id="item_a", text="(spoken 1500 ms)")
    await echo.send(CreateResponse(response_id="r", options=TEXT))
    events = await echo.until_done()
    assert "".join(e.text for e in of(TextDelta, events)) == "You said: (spoken 1500 ms)"
    await echo.close()


async def test_clear_audio_resets_the_detector() -> None:
    echo = await open_echo(SessionConfig(model="echo-1"))
    await echo.send(AppendAudio(pcm=tone(300)))
    assert anon([await echo.next()]) == [SpeechStarted(item_id="*", audio_start_ms=0)]
    await echo.send(ClearAudio(), AppendAudio(pcm=silence(1000)))
    assert await echo.quiet() == []
    await echo.close()


async def test_send_never_waits_for_output() -> None:
    echo = await open_echo(MANUAL, chunk_delay_ms=50)
    async with asyncio.timeout(0.5):
        for i in range(200):
            await echo.send(AddItem(item=user(f"m{i}", f"i{i}")))
        await echo.send(CreateResponse(response_id="r", options=TEXT))
    await echo.close()
