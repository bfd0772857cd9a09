"""A session past the vendor's cap (shortened): OpenAI ends a session after 60 minutes with
``session_expired``. The provider moves the conversation to a fresh upstream session
before the cap, at a turn boundary (or, when the cap comes first, after it, replaying what
the old one had not answered): every utterance answered, the conversation carried over as
history, every byte of the user's audio heard."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from rtcore.provider import messages as n
from rtcore.testing import Driver
from rtcore_openai_emulator import OpenAIRealtimeEmulator, silence_pcm, utterance_pcm
from rtcore_openai_realtime.provider import OpenAIRealtimeProvider
from tests.openai_upstream.conftest import opened, until

RATE = 24000
CHUNK = RATE * 2 // 50  # 20 ms
SAYS = {0: "Hello.", 1: "What is the weather like in Paris?", 3: "Thank you, goodbye."}


def spoken(driver: Driver, response_id: str) -> str:
    return "".join(
        e.text
        for e in driver.for_response(response_id)
        if isinstance(e, n.TranscriptDelta | n.TextDelta)
    )


async def _stream(driver: Driver, pcm: bytes) -> None:
    """Audio as a client sends it: 20 ms chunks at real time."""
    for i in range(0, len(pcm), CHUNK):
        await driver.send(n.AppendAudio(pcm=pcm[i : i + CHUNK]))
        await asyncio.sleep(0.02)


async def _converse(driver: Driver, slots: list[int]) -> int:
    """Speak each utterance and wait for its answer, telling the provider of the items
    as the core does (the user's turn with its transcript, the reply). The bytes sent."""
    sent = 0
    last: str | None = None
    for slot in slots:
        answered = len(driver.of(n.ResponseStarted))
        turn = utterance_pcm(slot, sample_rate=RATE, trail_silence=1.0)
        sent += len(turn)
        await _stream(driver, turn)
        await driver.wait(lambda a=answered: len(driver.of(n.ResponseStarted)) > a, 60)
        response_id = driver.of(n.ResponseStarted)[-1].response_id
        await driver.wait_done(response_id, 60)
        user = driver.of(n.SpeechStarted)[-1].item_id
        await driver.send(
            n.AddItem(
                item=n.Message(id=user, role="user", text=SAYS[slot], has_audio=True),
                previous_item_id=last,
                source="audio",
            ),
            n.AddItem(
                item=n.Message(
                    id=f"item_reply{answered}",
                    role="assistant",
                    text=spoken(driver, response_id),
                    has_audio=True,
                ),
                previous_item_id=user,
                source="model",
            ),
        )
        last = f"item_reply{answered}"
        quiet = silence_pcm(0.5, RATE)  # the microphone stays open between turns
        sent += len(quiet)
        await _stream(driver, quiet)
    return sent


async def _ask_memory(driver: Driver) -> str:
    """Ask what was said before; the answer once a reply to it completes. The cap may end
    the session during the reply (on a slow machine the turns before took longer): that
    reply ends ``failed``, and the client asks again, as a client whose reply failed does."""
    await driver.send(
        n.AddItem(item=n.Message(id="item_memory", role="user", text="What did I say before?"))
    )
    for attempt in range(3):
        response_id = f"resp_memory{attempt}"
        await driver.send(n.CreateResponse(response_id=response_id, options=n.ResponseOptions()))
        if (await driver.wait_done(response_id, 30)).status == "completed":
            return spoken(driver, response_id)
    raise AssertionError("no reply to the memory question completed in three tries")


@pytest.mark.slow
@pytest.mark.parametrize("vendor", ["openai", "xai"])
async def test_the_session_moves_before_the_cap_at_a_turn_boundary(
    make_provider: Callable[..., OpenAIRealtimeProvider],
    emulator: OpenAIRealtimeEmulator,
    vendor: str,
) -> None:
    emulator.session_cap = 6.0
    slots = [0, 1, 3, 0, 1, 3, 0, 1]
    provider = make_provider(vendor, session_cap_seconds=6.0)
    async with opened(provider) as session:
        driver = Driver(session)
        sent = await _converse(driver, slots)
        replayed = session.supervisor.replayed_audio  # type: ignore[attr-defined]
        await until(lambda: emulator.stats.audio_bytes >= sent + replayed)
        memory = await _ask_memory(driver)
    replies = [spoken(driver, e.response_id) for e in driver.of(n.ResponseStarted)]
    assert replies == [f"You said: {SAYS[slot]}" for slot in slots]
    assert not driver.of(n.ProviderError)
    assert sent / (RATE * 2) > 2 * emulator.session_cap  # the session outlived the cap
    assert emulator.stats.connections >= 3
    # No session reached the cap: each was replaced at a turn boundary before it.
    assert 1000 not in emulator.stats.close_codes()
    # Every byte the client sent reached a connection exactly once, but for what a session
    # replaced mid-turn (a machine too slow to reach a boundary in time) had taken and not
    # answered: sent again, to the session after it. Every turn was heard.
    assert emulator.stats.audio_bytes == sent + replayed
    heard = [h.slot for h in emulator.stats.heard]
    if replayed:
        heard = [slot for i, slot in enumerate(heard) if i == 0 or heard[i - 1] != slot]
    assert heard == slots
    # The last connection was seeded with the conversation: it knows what was said.
    assert memory == f"Before, you said: {SAYS[slots[-1]]}"


@pytest.mark.slow
async def test_a_session_that_hits_the_cap_continues_on_a_new_one(
    make_provider: Callable[..., OpenAIRealtimeProvider], emulator: OpenAIRealtimeEmulator
) -> None:
    """The provider does not know the cap (the vendor changed it): ``session_expired``
    comes, and the conversation goes on on a new session, nothing unanswered."""
    emulator.session_cap = 5.0
    slots = [0, 1, 3, 0, 1, 3]
    async with opened(make_provider("openai")) as session:
        driver = Driver(session)
        sent = await _converse(driver, slots)
        await until(lambda: emulator.stats.audio_bytes >= sent)
        memory = await _ask_memory(driver)
    dones = {d.response_id: d.status for d in driver.of(n.ResponseDone)}
    started = [e.response_id for e in driver.of(n.ResponseStarted)]
    # A reply the cap cut off ends failed; its turn is answered on the new session.
    replies = [spoken(driver, r) for r in started if dones.get(r) == "completed"]
    assert replies == [f"You said: {SAYS[slot]}" for slot in slots]
    assert not [e for e in driver.of(n.ProviderError) if e.fatal]
    assert emulator.stats.connections >= 2
    assert [h.slot for h in emulator.stats.heard if h.slot is not None] == slots
    assert memory == f"Before, you said: {SAYS[slots[-1]]}"


async def test_a_reply_that_stalls_midway_is_noticed_and_the_next_turn_answered(
    make_provider: Callable[..., OpenAIRealtimeProvider], emulator: OpenAIRealtimeEmulator
) -> None:
    """The stall watch starts when a reply begins, not only when the session next wakes."""
    emulator.strike("stall")
    async with opened(make_provider(stall_timeout_seconds=0.5)) as session:
        driver = Driver(session)
        await driver.audio(utterance_pcm(0, sample_rate=RATE, trail_silence=1.0))
        await driver.wait(lambda: bool(driver.of(n.ResponseStarted)))
        first = driver.of(n.ResponseStarted)[0].response_id
        assert (await driver.wait_done(first)).status == "failed"
        await driver.audio(utterance_pcm(3, sample_rate=RATE, trail_silence=1.0))
        await driver.wait(lambda: len(driver.of(n.ResponseStarted)) == 2)
        second = driver.of(n.ResponseStarted)[1].response_id
        assert (await driver.wait_done(second)).status == "completed"
    assert emulator.stats.connections == 2
