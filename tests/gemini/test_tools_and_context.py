"""Tools, and what Gemini cannot do in place (cancel a reply, forget an item, answer out of
band) done for real: through the SDK against the emulator."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rtcore.provider import messages as n
from rtcore.testing import Driver
from rtcore_gemini_emulator import GeminiLiveEmulator
from rtcore_gemini_live.provider import GeminiProvider
from tests.gemini.conftest import WEATHER, opened, until
from tests.gemini.test_turns import STORY, WEATHER_Q, ask, spoken

MEMORY = "What did I say before?"
SUNNY = '{"temperature": 21, "sky": "sunny"}'


async def _replied(driver: Driver, response_id: str, item_id: str, previous: str) -> None:
    """What the core does once a reply is done: its output joins the conversation."""
    said = spoken(driver, response_id)
    item = n.Message(id=item_id, role="assistant", text=said, has_audio=True)
    await driver.send(n.AddItem(item=item, previous_item_id=previous, source="model"))


async def _tool_call(driver: Driver) -> n.ToolCall:
    await driver.send(ask("item_q", WEATHER_Q), n.CreateResponse(response_id="resp_call"))
    done = await driver.wait_done("resp_call")
    assert done.status == "completed"
    calls = [e for e in driver.for_response("resp_call") if isinstance(e, n.ToolCall)]
    assert [c.name for c in calls] == ["get_weather"]
    assert "Paris" in calls[0].arguments
    return calls[0]


async def _answer(driver: Driver, call: n.ToolCall) -> n.ResponseDone:
    await driver.send(
        n.AddItem(
            item=n.FunctionCall(
                id="item_call", call_id=call.call_id, name=call.name, arguments=call.arguments
            ),
            source="model",
        ),
        n.AddItem(item=n.FunctionCallOutput(id="item_out", call_id=call.call_id, output=SUNNY)),
        n.CreateResponse(response_id="resp_after"),
    )
    return await driver.wait_done("resp_after")


@pytest.mark.parametrize(
    "model", ["gemini-3.8-live", "gemini-3.1-flash-live-preview"], ids=["non-blocking", "blocking"]
)
async def test_a_tool_round_trip_keeps_geminis_call_id(
    make_provider: Callable[..., GeminiProvider], emulator: GeminiLiveEmulator, model: str
) -> None:
    async with opened(make_provider(model=model), tools=(WEATHER,)) as session:
        driver = Driver(session)
        call = await _tool_call(driver)
        done = await _answer(driver, call)
    assert done.status == "completed"
    assert "sunny" in spoken(driver, "resp_after")
    assert [r.id for r in emulator.stats.tool_responses] == [call.call_id]
    assert emulator.stats.tool_calls[0].id == call.call_id


async def test_a_tool_result_after_a_reconnection_goes_in_as_history(
    make_provider: Callable[..., GeminiProvider], emulator: GeminiLiveEmulator
) -> None:
    """The call was issued on a connection that is gone: the new one never issued its id
    (Gemini would refuse the response), so the call and its result go in as turns."""
    emulator.settings.connection_lifetime = 4.0
    emulator.settings.go_away_notice = 3.5
    provider = make_provider(model="gemini-3.1-flash-live-preview")
    async with opened(provider, tools=(WEATHER,)) as session:
        driver = Driver(session)
        call = await _tool_call(driver)
        await until(lambda: len(emulator.stats.setups) >= 2)
        done = await _answer(driver, call)
    assert done.status == "completed"
    assert "sunny" in spoken(driver, "resp_after")
    assert emulator.stats.tool_responses == []  # never sent to a connection that lacks it
    assert 1007 not in emulator.stats.close_codes()


async def test_a_cancelled_reply_stops_upstream_and_the_session_goes_on(
    make_provider: Callable[..., GeminiProvider], emulator: GeminiLiveEmulator
) -> None:
    emulator.realtime_factor = 1.0
    async with opened(make_provider()) as session:
        driver = Driver(session)
        await driver.send(ask("item_1", STORY), n.CreateResponse(response_id="resp_1"))
        await driver.wait(lambda: bool(driver.for_response("resp_1")))
        await driver.send(n.CancelResponse(response_id="resp_1"))
        done = await driver.wait_done("resp_1")
        # Gemini has no cancel: the connection that generates the reply is replaced.
        await until(lambda: emulator.stats.active == 1 and len(emulator.stats.setups) == 2)
        emulator.realtime_factor = 0.0
        await driver.send(ask("item_2", MEMORY), n.CreateResponse(response_id="resp_2"))
        await driver.wait_done("resp_2")
    assert (done.status, done.reason) == ("cancelled", "client_cancelled")
    assert spoken(driver, "resp_2") == f"Before, you said: {STORY}"
    assert "historyConfig" in str(emulator.stats.setups[1].setup)


async def test_a_deleted_item_leaves_geminis_context(
    make_provider: Callable[..., GeminiProvider],
) -> None:
    async with opened(make_provider()) as session:
        driver = Driver(session)
        await driver.send(ask("item_1", "My name is Ada."), n.CreateResponse(response_id="r1"))
        await driver.wait_done("r1")
        await _replied(driver, "r1", "item_r1", "item_1")
        await driver.send(n.DeleteItem(item_id="item_1"))
        await driver.send(ask("item_2", MEMORY), n.CreateResponse(response_id="r2"))
        await driver.wait_done("r2")
    assert spoken(driver, "r2") == "You have not said anything before."


async def test_an_out_of_band_reply_never_enters_the_live_context(
    make_provider: Callable[..., GeminiProvider], emulator: GeminiLiveEmulator
) -> None:
    async with opened(make_provider()) as session:
        driver = Driver(session)
        await driver.send(ask("item_1", "Hi there."), n.CreateResponse(response_id="r1"))
        await driver.wait_done("r1")
        await _replied(driver, "r1", "item_r1", "item_1")
        aside = n.ResponseOptions(instructions="Summarise the conversation.")
        await driver.send(n.CreateResponse(response_id="aside", options=aside, conversation=False))
        assert (await driver.wait_done("aside")).status == "completed"
        await driver.send(ask("item_2", MEMORY), n.CreateResponse(response_id="r2"))
        await driver.wait_done("r2")
    assert "Summarise" in spoken(driver, "aside")
    assert spoken(driver, "r2") == "Before, you said: Hi there."
    # Its own connection, seeded with the conversation as history.
    assert len(emulator.stats.setups) == 2
    assert "historyConfig" in str(emulator.stats.setups[1].setup)
