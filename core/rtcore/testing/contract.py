"""The provider contract: what every provider owes the core, as tests any provider runs.

Subclass ``ProviderContract`` in the provider's own tests and give it two fixtures:
``contract_provider`` (the provider, paced so that a reply to ``QUESTION`` streams for a
second or more: long enough to be cancelled or spoken over) and ``contract_speech`` (a
``Speech`` its turn detection hears as one user turn; without it the tests that need speech
are skipped). Commands are sent as the core sends them, ``AddItem`` after a commit included.

Every test checks the rule the core relies on: each response ends with exactly one
``ResponseDone`` for its id, and nothing of it follows that done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec
import pytest

from rtcore.provider import Provider
from rtcore.provider.messages import (
    AddItem,
    AudioDelta,
    CancelResponse,
    CommitAudio,
    Configure,
    CreateResponse,
    DeleteItem,
    InputTranscript,
    Message,
    ResponseDone,
    ResponseOptions,
    ResponseStarted,
    SessionConfig,
    SpeechStarted,
    TextDelta,
    TranscriptDelta,
    TruncateItem,
)
from rtcore.testing.driver import Driver

QUESTION = "Please tell me a long story about the sea, the ships and the sailors on them."
OpenSession = Callable[..., Awaitable[Driver]]


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


def assert_one_done(driver: Driver, response_id: str) -> ResponseDone:
    """Exactly one done for the id, and nothing of the response after it."""
    dones = driver.done(response_id)
    assert len(dones) == 1, f"{response_id}: {len(dones)} ResponseDone events"
    events = driver.for_response(response_id)
    assert events[-1] is dones[0], f"{response_id}: output after its ResponseDone"
    return dones[0]


class ProviderContract:
    @pytest.fixture
    def contract_speech(self) -> Speech | None:
        return None

    @pytest.fixture
    def speech(self, contract_speech: Speech | None) -> Speech:
        if contract_speech is None:
            pytest.skip("the provider under test gave no contract_speech")
        return contract_speech

    # -- responses the core asks for -----------------------------------------------------

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

    async def test_cancel_mid_stream_ends_it_once_and_the_session_goes_on(
        self, contract_open: OpenSession
    ) -> None:
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

    async def test_cancelling_an_unknown_id_is_a_no_op(self, contract_open: OpenSession) -> None:
        driver = await contract_open()
        await driver.send(CancelResponse(response_id="resp_nobody"))
        await driver.settle()
        assert driver.events == []
        await driver.send(_ask("item_c1"), CreateResponse(response_id="resp_c1"))
        assert (await driver.wait_done("resp_c1")).status == "completed"

    async def test_closing_mid_stream_still_ends_the_response(
        self, contract_open: OpenSession
    ) -> None:
        driver = await contract_open()
        await driver.send(_ask("item_c1"), CreateResponse(response_id="resp_c1"))
        await driver.wait(lambda: _has_output(driver, "resp_c1"))
        await driver.aclose()
        assert driver.ended
        assert_one_done(driver, "resp_c1")

    async def test_out_of_band_response_completes_and_the_conversation_goes_on(
        self, contract_open: OpenSession
    ) -> None:
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

    async def test_text_only_response_sends_no_audio(self, contract_open: OpenSession) -> None:
        driver = await contract_open()
        text = ResponseOptions(output_modalities=("text",))
        await driver.send(_ask("item_c1", "Hello."), CreateResponse(response_id="r", options=text))
        await driver.wait_done("r")
        assert not [e for e in driver.for_response("r") if isinstance(e, AudioDelta)]
        assert [e for e in driver.for_response("r") if isinstance(e, TextDelta)]

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

    async def test_a_deleted_item_never_reaches_the_model_even_after_a_restart(
        self, contract_open: OpenSession
    ) -> None:
        driver = await contract_open()
        await driver.send(_ask("item_c1", "My name is Ada."), CreateResponse(response_id="r1"))
        await driver.wait_done("r1")
        reply = Message(id="item_r1", role="assistant", text=said(driver, "r1"))
        config = SessionConfig(model="contract", instructions="You are brief.")
        await driver.send(
            AddItem(item=reply, previous_item_id="item_c1", source="model"),
            TruncateItem(item_id="item_r1", audio_end_ms=0, text=""),
            _ask("item_c2", "Remember the secret word zebra."),
            DeleteItem(item_id="item_c2"),
            # A new system prompt: a provider with an upstream session restarts it here.
            Configure(config=config, changed=frozenset({"instructions"})),
            CreateResponse(response_id="r2"),
        )
        assert (await driver.wait_done("r2")).status == "completed"
        assert "zebra" not in said(driver, "r2")

    # -- turns the provider detects ----------------------------------------------------

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

    async def test_a_response_it_starts_is_announced_first_and_cancels_by_id(
        self, contract_open: OpenSession, speech: Speech
    ) -> None:
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
