"""The provider contract's tests of what real providers got wrong: a test for each such
bug, so that no provider makes it again.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from rtcore.provider import Provider, ProviderUnavailable
from rtcore.provider.messages import (
    AddItem,
    CancelResponse,
    CommitAudio,
    CreateResponse,
    FunctionCall,
    FunctionCallOutput,
    InputTranscript,
    Message,
    ProviderError,
    ResponseOptions,
    ResponseStarted,
    SessionConfig,
    ToolCall,
    TurnDetection,
)
from rtcore.testing.checks import (
    assert_one_done,
    by_duration_only,
    has_output,
    output_after,
    requires,
    said,
    started_more_than,
)
from rtcore.testing.driver import Driver
from rtcore.testing.inputs import (
    WEATHER,
    WEATHER_QUESTION,
    WEATHER_RESULT,
    OpenSession,
    Reconnect,
    Speech,
    ask,
)


class KnownProviderBugs:
    """What real providers got wrong (a part of ``ProviderContract``)."""

    within: float  # how long to wait for what the provider owes: ProviderContract sets it

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
        await driver.send(ask("item_q", WEATHER_QUESTION), CreateResponse(response_id="r1"))
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
        await driver.send(ask("item_more", "Thank you."), CreateResponse(response_id="r3"))
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
        if prices is not None and by_duration_only(prices):
            pytest.skip("the model is billed by audio duration, not tokens")
        driver = await contract_open()
        await driver.send(ask("item_c1", "Hello there."), CreateResponse(response_id="r1"))
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
            await driver.send(ask("item_c1", "Hello."), CreateResponse(response_id="r1"))
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
            ask("item_q", WEATHER_QUESTION),
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
        await driver.send(ask("item_more", "Thank you."), CreateResponse(response_id="r2"))
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
            await driver.wait(started_more_than(driver, turn), self.within)
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
            ask("item_c1", "Summarise our chat."),
            CreateResponse(response_id="r_aside", options=aside, conversation=False),
        )
        assert (await driver.wait_done("r_aside", self.within)).status == "completed"
        await driver.send(CreateResponse(response_id="r1"))
        assert (await driver.wait_done("r1", self.within)).status == "completed"
        await driver.send(ask("item_c2", "Go on."), CreateResponse(response_id="r2"))
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
        await driver.send(ask("item_c1"), CreateResponse(response_id="r_full"))
        await driver.wait(lambda: has_output(driver, "r_full"), self.within)
        first_output = time.monotonic() - started
        await driver.wait_done("r_full", self.within)
        full = time.monotonic() - started - first_output  # how long a reply streams
        await driver.send(ask("item_c2"), CreateResponse(response_id="r_cut"))
        await driver.wait(lambda: has_output(driver, "r_cut"), self.within)
        await driver.send(CancelResponse(response_id="r_cut"))
        await driver.wait_done("r_cut", self.within)
        cut_at = len(driver.events)
        asked = time.monotonic()
        await driver.send(ask("item_c3", "Hello."), CreateResponse(response_id="r_next"))
        await driver.wait(lambda: has_output(driver, "r_next"), self.within)
        waited = time.monotonic() - asked
        await driver.wait_done("r_next", self.within)
        await driver.settle()
        assert not output_after(driver, "r_cut", cut_at), "output of r_cut after its done"
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
        await driver.send(ask("item_c1"), CreateResponse(response_id="resp_c1"))
        await driver.wait(lambda: has_output(driver, "resp_c1"), self.within)
        await driver.audio(speech.turn)
        done = await driver.wait_done("resp_c1", self.within)
        assert done.status == "completed", f"spoken over, it ended {done.status}"
        await driver.wait(lambda: bool(driver.of(ResponseStarted)), self.within)
        rid = driver.of(ResponseStarted)[0].response_id
        assert (await driver.wait_done(rid, self.within)).status == "completed"
        await driver.settle()
        assert_one_done(driver, "resp_c1")
        assert_one_done(driver, rid)
