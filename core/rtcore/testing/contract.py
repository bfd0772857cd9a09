"""The provider contract: what every provider owes the core, as tests any provider runs.

Subclass ``ProviderContract`` in the provider's own tests and give it ``contract_provider``
(the provider, paced so that a reply to ``QUESTION`` streams for a second or more: long
enough to be cancelled or spoken over). Optional fixtures open more of the contract; each
test that needs one it was not given is skipped:

- ``contract_speech``: a ``Speech`` its turn detection hears as one user turn;
- ``contract_reconnect``: ``async (driver) -> None`` that makes the provider's upstream for
  that session reconnect now, as a dropped connection would (returning once it has);
- ``contract_unreachable``: a provider configured like ``contract_provider`` whose upstream
  cannot be reached.

Commands are sent as the core sends them: ``AddItem`` after a commit, every ``AddItem``
naming the item it follows. The tests are marked for pytest-asyncio, so they run in its
strict mode as in its auto mode.

Every test checks the rule the core relies on: each response ends with exactly one
``ResponseDone`` for its id, and nothing of it follows that done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import msgspec
import pytest

from rtcore.provider import Prices, Provider, ProviderUnavailable
from rtcore.provider.messages import (
    AddItem,
    AudioDelta,
    CancelResponse,
    CommitAudio,
    Configure,
    CreateResponse,
    DeleteItem,
    FunctionCall,
    FunctionCallOutput,
    InputTranscript,
    Message,
    ProviderError,
    ResponseDone,
    ResponseOptions,
    ResponseStarted,
    SessionConfig,
    SpeechStarted,
    TextDelta,
    ToolCall,
    ToolDef,
    TranscriptDelta,
    TruncateItem,
    TurnDetection,
)
from rtcore.testing.driver import Driver

QUESTION = "Please tell me a long story about the sea, the ships and the sailors on them."
OpenSession = Callable[..., Awaitable[Driver]]
Reconnect = Callable[[Driver], Awaitable[None]]

WEATHER = ToolDef(
    name="get_weather",
    description="The weather forecast for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)
WEATHER_QUESTION = "What is the weather in Paris?"
WEATHER_RESULT = "Sunny and 21 degrees, a light breeze from the west."


class Speech(msgspec.Struct, frozen=True, kw_only=True):
    """``turn``: PCM16 at ``rate`` that the provider hears as one spoken turn, followed by
    the silence that ends it."""

    turn: bytes
    rate: int = 16000


def _ask(item_id: str, text: str = QUESTION) -> AddItem:
    return AddItem(item=Message(id=item_id, role="user", text=text))


def said(driver: Driver, response_id: str) -> str:
    words = [e.text for e in driver.for_response(response_id) if isinstance(e, TextDelta)]
    words += [e.text for e in driver.for_response(response_id) if isinstance(e, TranscriptDelta)]
    return "".join(words)


def _has_output(driver: Driver, response_id: str) -> bool:
    return any(not isinstance(e, ResponseDone) for e in driver.for_response(response_id))


def _by_duration_only(prices: Prices) -> bool:
    tokens = (prices.input_text, prices.output_text, prices.input_audio, prices.output_audio)
    return not any(tokens) and bool(prices.input_audio_second or prices.output_audio_second)


def assert_one_done(driver: Driver, response_id: str) -> ResponseDone:
    """Exactly one done for the id, and nothing of the response after it."""
    dones = driver.done(response_id)
    assert len(dones) == 1, f"{response_id}: {len(dones)} ResponseDone events"
    events = driver.for_response(response_id)
    assert events[-1] is dones[0], f"{response_id}: output after its ResponseDone"
    return dones[0]


def requires(provider: Provider, capability: str) -> None:
    """Skip a test of what the provider declares it cannot do (the core refuses it)."""
    if not getattr(provider.capabilities, capability):
        pytest.skip(f"the provider declares {capability}=False: the core refuses it")


def _started_more_than(driver: Driver, count: int) -> Callable[[], bool]:
    return lambda: len(driver.of(ResponseStarted)) > count


def _output_after(driver: Driver, response_id: str, index: int) -> bool:
    return any(
        not isinstance(e, ResponseDone) and getattr(e, "response_id", None) == response_id
        for e in driver.events[index:]
    )


class ProviderContract:
    # How long a test waits for what the provider owes (a safety net for a hung provider,
    # not a pace): a subclass may change it.
    within: float = 30.0

    @pytest.fixture
    def contract_speech(self) -> Speech | None:
        return None

    @pytest.fixture
    def contract_reconnect(self) -> Reconnect | None:
        return None

    @pytest.fixture
    def contract_unreachable(self) -> Provider | None:
        return None

    @pytest.fixture
    def speech(self, contract_speech: Speech | None) -> Speech:
        if contract_speech is None:
            pytest.skip("the provider under test gave no contract_speech")
        return contract_speech

    @pytest.fixture
    def reconnect(self, contract_reconnect: Reconnect | None) -> Reconnect:
        if contract_reconnect is None:
            pytest.skip("the provider under test gave no contract_reconnect")
        return contract_reconnect

    # -- responses the core asks for -----------------------------------------------------

    @pytest.mark.asyncio
    async def test_a_requested_response_completes_under_its_id(
        self, contract_open: OpenSession
    ) -> None:
        driver = await contract_open()
        await driver.send(_ask("item_c1"), CreateResponse(response_id="resp_c1"))
        done = await driver.wait_done("resp_c1")
        await driver.settle()
        assert done.status == "completed"
        assert_one_done(driver, "resp_c1")
        assert said(driver, "resp_c1")
        assert not driver.of(ResponseStarted)  # the core named it: no announcement

    @pytest.mark.asyncio
    async def test_cancel_mid_stream_ends_it_once_and_the_session_goes_on(
        self, contract_open: OpenSession, contract_provider: Provider
    ) -> None:
        requires(contract_provider, "cancel")
        driver = await contract_open()
        await driver.send(_ask("item_c1"), CreateResponse(response_id="resp_c1"))
        await driver.wait(lambda: _has_output(driver, "resp_c1"))
        await driver.send(CancelResponse(response_id="resp_c1"))
        done = await driver.wait_done("resp_c1")
        assert (done.status, done.reason) == ("cancelled", "client_cancelled")
        await driver.send(CancelResponse(response_id="resp_c1"))  # again: a no-op
        await driver.send(_ask("item_c2", "Thank you."), CreateResponse(response_id="resp_c2"))
        assert (await driver.wait_done("resp_c2")).status == "completed"
        await driver.settle()
        assert_one_done(driver, "resp_c1")
        assert_one_done(driver, "resp_c2")

    @pytest.mark.asyncio
    async def test_cancelling_an_unknown_id_is_a_no_op(
        self, contract_open: OpenSession, contract_provider: Provider
    ) -> None:
        requires(contract_provider, "cancel")
        driver = await contract_open()
        await driver.send(CancelResponse(response_id="resp_nobody"))
        await driver.settle()
        assert driver.events == []
        await driver.send(_ask("item_c1"), CreateResponse(response_id="resp_c1"))
        assert (await driver.wait_done("resp_c1")).status == "completed"

    @pytest.mark.asyncio
    async def test_closing_mid_stream_still_ends_the_response(
        self, contract_open: OpenSession
    ) -> None:
        driver = await contract_open()
        await driver.send(_ask("item_c1"), CreateResponse(response_id="resp_c1"))
        await driver.wait(lambda: _has_output(driver, "resp_c1"))
        await driver.aclose()
        assert driver.ended
        assert_one_done(driver, "resp_c1")

    @pytest.mark.asyncio
    async def test_out_of_band_response_completes_and_the_conversation_goes_on(
        self, contract_open: OpenSession, contract_provider: Provider
    ) -> None:
        requires(contract_provider, "out_of_band")
        driver = await contract_open()
        await driver.send(
            _ask("item_c1", "Summarise."),
            CreateResponse(response_id="resp_aside", conversation=False),
        )
        assert (await driver.wait_done("resp_aside")).status == "completed"
        await driver.send(_ask("item_c2", "Hello."), CreateResponse(response_id="resp_c2"))
        assert (await driver.wait_done("resp_c2")).status == "completed"
        await driver.settle()
        assert_one_done(driver, "resp_aside")
        assert_one_done(driver, "resp_c2")

    @pytest.mark.asyncio
    async def test_text_only_response_sends_no_audio(self, contract_open: OpenSession) -> None:
        driver = await contract_open()
        text = ResponseOptions(output_modalities=("text",))
        await driver.send(_ask("item_c1", "Hello."), CreateResponse(response_id="r", options=text))
        await driver.wait_done("r")
        assert not [e for e in driver.for_response("r") if isinstance(e, AudioDelta)]
        assert [e for e in driver.for_response("r") if isinstance(e, TextDelta)]

    @pytest.mark.asyncio
    async def test_per_response_overrides_it_declares_are_taken(
        self, contract_open: OpenSession, contract_provider: Provider
    ) -> None:
        declared = contract_provider.capabilities.response_overrides
        if "instructions" not in declared:
            pytest.skip("the provider takes no per-response instructions")
        driver = await contract_open()
        options = ResponseOptions(instructions="Answer briefly.")
        await driver.send(_ask("item_c1", "Hi."), CreateResponse(response_id="r", options=options))
        assert (await driver.wait_done("r")).status == "completed"

    @pytest.mark.asyncio
    async def test_a_deleted_item_never_reaches_the_model_even_after_a_restart(
        self, contract_open: OpenSession, contract_provider: Provider
    ) -> None:
        truncate = contract_provider.capabilities.truncate
        driver = await contract_open()
        await driver.send(_ask("item_c1", "My name is Ada."), CreateResponse(response_id="r1"))
        await driver.wait_done("r1")
        reply = Message(id="item_r1", role="assistant", text=said(driver, "r1"))
        config = SessionConfig(model="contract", instructions="You are brief.")
        await driver.send(
            AddItem(item=reply, previous_item_id="item_c1", source="model"),
            *([TruncateItem(item_id="item_r1", audio_end_ms=0, text="")] if truncate else []),
            _ask("item_c2", "Remember the secret word zebra."),
            DeleteItem(item_id="item_c2"),
            # A new system prompt: a provider with an upstream session restarts it here.
            Configure(config=config, changed=frozenset({"instructions"})),
            CreateResponse(response_id="r2"),
        )
        assert (await driver.wait_done("r2")).status == "completed"
        assert "zebra" not in said(driver, "r2")

    # -- turns the provider detects ----------------------------------------------------

    @pytest.mark.asyncio
    async def test_barge_in_cancels_the_response_once(
        self, contract_open: OpenSession, speech: Speech
    ) -> None:
        driver = await contract_open(input_sample_rate=speech.rate)
        await driver.send(_ask("item_c1"), CreateResponse(response_id="resp_c1"))
        await driver.wait(lambda: _has_output(driver, "resp_c1"))
        await driver.audio(speech.turn)
        done = await driver.wait_done("resp_c1")
        assert (done.status, done.reason) == ("cancelled", "turn_detected")
        await driver.wait(lambda: bool(driver.of(SpeechStarted)))
        await driver.settle()
        assert_one_done(driver, "resp_c1")

    @pytest.mark.asyncio
    async def test_a_response_it_starts_is_announced_first_and_cancels_by_id(
        self, contract_open: OpenSession, speech: Speech, contract_provider: Provider
    ) -> None:
        requires(contract_provider, "cancel")
        driver = await contract_open(input_sample_rate=speech.rate)
        await driver.audio(speech.turn)
        await driver.wait(lambda: bool(driver.of(ResponseStarted)))
        started = driver.of(ResponseStarted)[0]
        rid = started.response_id
        await driver.send(CancelResponse(response_id=rid))  # racing its output
        await driver.wait_done(rid)
        await driver.settle()
        events = driver.events
        output = [e for e in driver.for_response(rid) if not isinstance(e, ResponseStarted)]
        first = min(events.index(e) for e in output)
        assert events.index(started) < first, "output before the response was announced"
        assert_one_done(driver, rid)
        speech_ids = {e.item_id for e in driver.of(SpeechStarted)}
        transcripts = {e.item_id for e in driver.of(InputTranscript)}
        assert transcripts <= speech_ids, "a transcript for a turn that was never announced"

    @pytest.mark.asyncio
    async def test_push_to_talk_commit_then_create(
        self, contract_open: OpenSession, speech: Speech
    ) -> None:
        driver = await contract_open(input_sample_rate=speech.rate, turn_detection=None)
        await driver.audio(speech.turn)
        spoken = Message(id="item_ptt", role="user", has_audio=True)
        await driver.send(
            CommitAudio(item_id="item_ptt"),
            AddItem(item=spoken, source="audio"),
            CreateResponse(response_id="resp_ptt"),
        )
        assert (await driver.wait_done("resp_ptt")).status == "completed"
        await driver.settle(1.0)
        assert_one_done(driver, "resp_ptt")
        assert not driver.of(ResponseStarted), "a response nobody asked for"
        assert not driver.of(SpeechStarted), "speech events with turn detection off"
        assert {e.item_id for e in driver.of(InputTranscript)} <= {"item_ptt"}

    # -- what real providers got wrong -------------------------------------------------

    @pytest.mark.asyncio
    async def test_push_to_talk_transcribes_the_commit_before_the_response_is_asked(
        self, contract_open: OpenSession, contract_provider: Provider, speech: Speech
    ) -> None:
        """The openai SDK waits for a committed turn's transcript before it sends
        ``response.create``: a provider that transcribes only once asked deadlocks it."""
        requires(contract_provider, "manual_commit")
        driver = await contract_open(input_sample_rate=speech.rate, turn_detection=None)
        await driver.audio(speech.turn)
        spoken = Message(id="item_ptt", role="user", has_audio=True)
        await driver.send(CommitAudio(item_id="item_ptt"), AddItem(item=spoken, source="audio"))
        await driver.wait(
            lambda: any(e.item_id == "item_ptt" and e.final for e in driver.of(InputTranscript)),
            self.within,
        )
        assert not driver.of(ResponseStarted), "a response nobody asked for"
        await driver.send(CreateResponse(response_id="resp_ptt"))
        assert (await driver.wait_done("resp_ptt", self.within)).status == "completed"
        await driver.settle()
        assert_one_done(driver, "resp_ptt")
        assert said(driver, "resp_ptt")
        assert not driver.of(ResponseStarted), "a response nobody asked for"

    @pytest.mark.asyncio
    async def test_a_tool_result_reaches_the_model_across_a_reconnection(
        self, contract_open: OpenSession, contract_provider: Provider, reconnect: Reconnect
    ) -> None:
        """A call id belongs to the connection that issued it: a result sent after a
        reconnection must still reach the model, and the reply goes on from it."""
        requires(contract_provider, "tools")
        driver = await contract_open(tools=(WEATHER,), output_modalities=("text",))
        await driver.send(_ask("item_q", WEATHER_QUESTION), CreateResponse(response_id="r1"))
        assert (await driver.wait_done("r1", self.within)).status == "completed"
        calls = [e for e in driver.for_response("r1") if isinstance(e, ToolCall)]
        assert calls, "the model called no tool"
        call = calls[0]
        await reconnect(driver)
        await driver.send(
            AddItem(
                item=FunctionCall(
                    id="item_call", call_id=call.call_id, name=call.name, arguments=call.arguments
                ),
                source="model",
            ),
            AddItem(
                item=FunctionCallOutput(id="item_out", call_id=call.call_id, output=WEATHER_RESULT)
            ),
            CreateResponse(response_id="r2"),
        )
        assert (await driver.wait_done("r2", self.within)).status == "completed"
        assert "21" in said(driver, "r2"), "the reply knows nothing of the tool's result"
        await driver.send(_ask("item_more", "Thank you."), CreateResponse(response_id="r3"))
        assert (await driver.wait_done("r3", self.within)).status == "completed"
        await driver.settle()
        for rid in ("r1", "r2", "r3"):
            assert_one_done(driver, rid)

    @pytest.mark.asyncio
    async def test_usage_counts_what_went_in_and_came_out(
        self,
        contract_open: OpenSession,
        contract_provider: Provider,
        contract_speech: Speech | None,
    ) -> None:
        """A completed response reports nonzero input and output tokens, and audio input
        tokens when the turn was spoken. (A model billed by the duration of its audio alone,
        whose prices name no token, reports none: the gateway meters the seconds itself.)"""
        prices = contract_provider.capabilities.prices
        if prices is not None and _by_duration_only(prices):
            pytest.skip("the model is billed by audio duration, not tokens")
        driver = await contract_open()
        await driver.send(_ask("item_c1", "Hello there."), CreateResponse(response_id="r1"))
        done = await driver.wait_done("r1", self.within)
        assert done.status == "completed"
        assert done.usage.input_tokens > 0, f"no input tokens: {done.usage}"
        assert done.usage.output_tokens > 0, f"no output tokens: {done.usage}"
        if contract_speech is None:
            return
        spoken = await contract_open(input_sample_rate=contract_speech.rate)
        await spoken.audio(contract_speech.turn)
        await spoken.wait(lambda: bool(spoken.of(ResponseStarted)), self.within)
        rid = spoken.of(ResponseStarted)[0].response_id
        done = await spoken.wait_done(rid, self.within)
        assert done.status == "completed"
        assert done.usage.input_audio_tokens > 0, f"a spoken turn, no audio tokens: {done.usage}"
        assert done.usage.output_tokens > 0, f"no output tokens: {done.usage}"

    @pytest.mark.asyncio
    async def test_an_unreachable_upstream_is_reported_not_waited_for(
        self, contract_unreachable: Provider | None
    ) -> None:
        """``open_session`` raises ``ProviderUnavailable``, or the session reports a
        ``ProviderError`` (its responses ending): never a session that hangs."""
        if contract_unreachable is None:
            pytest.skip("the provider under test gave no contract_unreachable")
        refused: ProviderUnavailable | None = None
        try:
            async with asyncio.timeout(self.within):
                session = await contract_unreachable.open_session(SessionConfig(model="contract"))
        except ProviderUnavailable as exc:
            refused = exc
        if refused is not None:
            assert refused.message, "refused without a message for the user"
            return
        driver = Driver(session)
        try:
            await driver.send(_ask("item_c1", "Hello."), CreateResponse(response_id="r1"))
            await driver.wait(lambda: bool(driver.of(ProviderError)) or driver.ended, self.within)
            assert driver.of(ProviderError), "the session ended without saying why"
            await driver.wait(lambda: bool(driver.done("r1")), self.within)
            assert driver.done("r1")[0].status != "completed"
            fatal = [e for e in driver.of(ProviderError) if e.fatal]
            if fatal:
                # The core moves a session whose upstream is gone to another deployment:
                # it must know how each response ended before it hears the session did.
                ends = driver.events.index(fatal[0])
                assert driver.events.index(driver.done("r1")[0]) < ends, (
                    "a response ended after the fatal error that ended the session"
                )
        finally:
            await driver.aclose()

    @pytest.mark.asyncio
    async def test_a_conversation_taken_over_from_another_model_goes_on(
        self, contract_open: OpenSession, contract_provider: Provider
    ) -> None:
        """A session that failed over arrives with its conversation, as client items: a
        function call another model made (under a call id this upstream never issued) and
        its result among them. The reply goes on from that result."""
        requires(contract_provider, "tools")
        driver = await contract_open(tools=(WEATHER,), output_modalities=("text",))
        call = FunctionCall(
            id="item_call",
            call_id="call_elsewhere_1",
            name=WEATHER.name,
            arguments='{"city": "Paris"}',
        )
        await driver.send(
            AddItem(item=Message(id="item_hi", role="user", text="Hello.")),
            AddItem(item=Message(id="item_hello", role="assistant", text="Hello! How can I help?")),
            _ask("item_q", WEATHER_QUESTION),
            AddItem(item=call),
            AddItem(
                item=FunctionCallOutput(
                    id="item_out", call_id="call_elsewhere_1", output=WEATHER_RESULT
                )
            ),
            CreateResponse(response_id="r1"),
        )
        assert (await driver.wait_done("r1", self.within)).status == "completed"
        assert "21" in said(driver, "r1"), "the reply knows nothing of the tool's result"
        await driver.send(_ask("item_more", "Thank you."), CreateResponse(response_id="r2"))
        assert (await driver.wait_done("r2", self.within)).status == "completed"
        await driver.settle()
        for rid in ("r1", "r2"):
            assert_one_done(driver, rid)

    @pytest.mark.asyncio
    async def test_a_reconnection_mid_utterance_loses_no_audio(
        self, contract_open: OpenSession, speech: Speech, reconnect: Reconnect
    ) -> None:
        """The upstream goes away while the user speaks: every utterance is answered, the
        one cut in two included."""
        driver = await contract_open(input_sample_rate=speech.rate)
        half = len(speech.turn) // 4 * 2
        for turn in range(3):
            if turn == 1:
                await driver.audio(speech.turn[:half])
                await reconnect(driver)
                await driver.audio(speech.turn[half:])
            else:
                await driver.audio(speech.turn)
            await driver.wait(_started_more_than(driver, turn), self.within)
            rid = driver.of(ResponseStarted)[turn].response_id
            assert (await driver.wait_done(rid, self.within)).status == "completed"
        await driver.settle()
        assert len(driver.of(ResponseStarted)) == 3

    @pytest.mark.asyncio
    async def test_an_out_of_band_response_leaves_nothing_in_the_models_context(
        self, contract_open: OpenSession, contract_provider: Provider
    ) -> None:
        """What only an out-of-band response saw (its instructions, its output) never
        shows in a later reply in the conversation."""
        requires(contract_provider, "out_of_band")
        if "instructions" not in contract_provider.capabilities.response_overrides:
            pytest.skip("the provider takes no per-response instructions")
        driver = await contract_open(output_modalities=("text",))
        aside = ResponseOptions(instructions="Use the code word zebra in your answer.")
        await driver.send(
            _ask("item_c1", "Summarise our chat."),
            CreateResponse(response_id="r_aside", options=aside, conversation=False),
        )
        assert (await driver.wait_done("r_aside", self.within)).status == "completed"
        await driver.send(CreateResponse(response_id="r1"))
        assert (await driver.wait_done("r1", self.within)).status == "completed"
        await driver.send(_ask("item_c2", "Go on."), CreateResponse(response_id="r2"))
        assert (await driver.wait_done("r2", self.within)).status == "completed"
        for rid in ("r1", "r2"):
            assert "zebra" not in said(driver, rid).lower(), f"{rid} saw the aside"

    @pytest.mark.asyncio
    async def test_cancel_stops_the_upstream_and_the_next_reply_comes_promptly(
        self, contract_open: OpenSession, contract_provider: Provider
    ) -> None:
        """A cancelled response stops being generated: nothing of it follows its done, and
        the next response does not wait for the cancelled one to run its course."""
        requires(contract_provider, "cancel")
        driver = await contract_open()
        started = time.monotonic()
        await driver.send(_ask("item_c1"), CreateResponse(response_id="r_full"))
        await driver.wait(lambda: _has_output(driver, "r_full"), self.within)
        first_output = time.monotonic() - started
        await driver.wait_done("r_full", self.within)
        full = time.monotonic() - started - first_output  # how long a reply streams
        await driver.send(_ask("item_c2"), CreateResponse(response_id="r_cut"))
        await driver.wait(lambda: _has_output(driver, "r_cut"), self.within)
        await driver.send(CancelResponse(response_id="r_cut"))
        await driver.wait_done("r_cut", self.within)
        cut_at = len(driver.events)
        asked = time.monotonic()
        await driver.send(_ask("item_c3", "Hello."), CreateResponse(response_id="r_next"))
        await driver.wait(lambda: _has_output(driver, "r_next"), self.within)
        waited = time.monotonic() - asked
        await driver.wait_done("r_next", self.within)
        await driver.settle()
        assert not _output_after(driver, "r_cut", cut_at), "output of r_cut after its done"
        assert_one_done(driver, "r_cut")
        # The next reply's first output within its usual latency, not after what was left
        # of the cancelled one (generous: half a reply's streaming time on top).
        assert waited < first_output + full / 2, (
            f"the next reply waited {waited:.2f} s (first output usually after "
            f"{first_output:.2f} s; a reply streams {full:.2f} s): the cancelled one went on"
        )

    @pytest.mark.asyncio
    async def test_speech_during_a_reply_with_interrupt_response_false_is_answered_after_it(
        self, contract_open: OpenSession, contract_provider: Provider, speech: Speech
    ) -> None:
        """``interrupt_response: false``: the user speaking over a reply does not cancel it,
        and that turn still gets its answer once the reply is over."""
        caps = contract_provider.capabilities
        if not caps.server_vad or "interrupt_response" not in caps.turn_options:
            pytest.skip("the provider cannot keep replying while spoken over")
        td = TurnDetection(interrupt_response=False)
        driver = await contract_open(input_sample_rate=speech.rate, turn_detection=td)
        await driver.send(_ask("item_c1"), CreateResponse(response_id="resp_c1"))
        await driver.wait(lambda: _has_output(driver, "resp_c1"), self.within)
        await driver.audio(speech.turn)
        done = await driver.wait_done("resp_c1", self.within)
        assert done.status == "completed", f"spoken over, it ended {done.status}"
        await driver.wait(lambda: bool(driver.of(ResponseStarted)), self.within)
        rid = driver.of(ResponseStarted)[0].response_id
        assert (await driver.wait_done(rid, self.within)).status == "completed"
        await driver.settle()
        assert_one_done(driver, "resp_c1")
        assert_one_done(driver, rid)
