"""The provider contract's tests of the turns a provider detects itself: barge-in, the
responses it starts, push-to-talk.
"""

from __future__ import annotations

import pytest

from rtcore.provider import Provider
from rtcore.provider.messages import (
    AddItem,
    CancelResponse,
    CommitAudio,
    CreateResponse,
    InputTranscript,
    Message,
    ResponseStarted,
    SpeechStarted,
)
from rtcore.testing.checks import assert_one_done, has_output, requires
from rtcore.testing.inputs import OpenSession, Speech, ask


class DetectedTurns:
    """The turns the provider detects (a part of ``ProviderContract``)."""

    within: float  # how long to wait for what the provider owes: ProviderContract sets it

    @pytest.mark.asyncio
    async def test_barge_in_cancels_the_response_once(
        self, contract_open: OpenSession, speech: Speech
    ) -> None:
        driver = await contract_open(input_sample_rate=speech.rate)
        await driver.send(ask("item_c1"), CreateResponse(response_id="resp_c1"))
        await driver.wait(lambda: has_output(driver, "resp_c1"))
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
