"""The provider contract's tests of the responses the core asks for (``CreateResponse``):
their ids, cancels, closes, out-of-band replies, overrides and deleted items.
"""

from __future__ import annotations

import pytest

from rtcore.provider import Provider
from rtcore.provider.messages import (
    AddItem,
    AudioDelta,
    CancelResponse,
    Configure,
    CreateResponse,
    DeleteItem,
    Message,
    ResponseOptions,
    ResponseStarted,
    SessionConfig,
    TextDelta,
    TruncateItem,
)
from rtcore.testing.checks import assert_one_done, has_output, requires, said
from rtcore.testing.inputs import OpenSession, ask


class RequestedResponses:
    """The responses the core asks for (a part of ``ProviderContract``)."""

    within: float  # how long to wait for what the provider owes: ProviderContract sets it

    @pytest.mark.asyncio
    async def test_a_requested_response_completes_under_its_id(
        self, contract_open: OpenSession
    ) -> None:
        driver = await contract_open()
        await driver.send(ask("item_c1"), CreateResponse(response_id="resp_c1"))
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
        await driver.send(ask("item_c1"), CreateResponse(response_id="resp_c1"))
        await driver.wait(lambda: has_output(driver, "resp_c1"))
        await driver.send(CancelResponse(response_id="resp_c1"))
        done = await driver.wait_done("resp_c1")
        assert (done.status, done.reason) == ("cancelled", "client_cancelled")
        await driver.send(CancelResponse(response_id="resp_c1"))  # again: a no-op
        await driver.send(ask("item_c2", "Thank you."), CreateResponse(response_id="resp_c2"))
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
        await driver.send(ask("item_c1"), CreateResponse(response_id="resp_c1"))
        assert (await driver.wait_done("resp_c1")).status == "completed"

    @pytest.mark.asyncio
    async def test_closing_mid_stream_still_ends_the_response(
        self, contract_open: OpenSession
    ) -> None:
        driver = await contract_open()
        await driver.send(ask("item_c1"), CreateResponse(response_id="resp_c1"))
        await driver.wait(lambda: has_output(driver, "resp_c1"))
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
            ask("item_c1", "Summarise."),
            CreateResponse(response_id="resp_aside", conversation=False),
        )
        assert (await driver.wait_done("resp_aside")).status == "completed"
        await driver.send(ask("item_c2", "Hello."), CreateResponse(response_id="resp_c2"))
        assert (await driver.wait_done("resp_c2")).status == "completed"
        await driver.settle()
        assert_one_done(driver, "resp_aside")
        assert_one_done(driver, "resp_c2")

    @pytest.mark.asyncio
    async def test_text_only_response_sends_no_audio(self, contract_open: OpenSession) -> None:
        driver = await contract_open()
        text = ResponseOptions(output_modalities=("text",))
        await driver.send(ask("item_c1", "Hello."), CreateResponse(response_id="r", options=text))
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
        await driver.send(ask("item_c1", "Hi."), CreateResponse(response_id="r", options=options))
        assert (await driver.wait_done("r")).status == "completed"

    @pytest.mark.asyncio
    async def test_a_deleted_item_never_reaches_the_model_even_after_a_restart(
        self, contract_open: OpenSession, contract_provider: Provider
    ) -> None:
        truncate = contract_provider.capabilities.truncate
        driver = await contract_open()
        await driver.send(ask("item_c1", "My name is Ada."), CreateResponse(response_id="r1"))
        await driver.wait_done("r1")
        reply = Message(id="item_r1", role="assistant", text=said(driver, "r1"))
        config = SessionConfig(model="contract", instructions="You are brief.")
        await driver.send(
            AddItem(item=reply, previous_item_id="item_c1", source="model"),
            *([TruncateItem(item_id="item_r1", audio_end_ms=0, text="")] if truncate else []),
            ask("item_c2", "Remember the secret word zebra."),
            DeleteItem(item_id="item_c2"),
            # A new system prompt: a provider with an upstream session restarts it here.
            Configure(config=config, changed=frozenset({"instructions"})),
            CreateResponse(response_id="r2"),
        )
        assert (await driver.wait_done("r2")).status == "completed"
        assert "zebra" not in said(driver, "r2")
