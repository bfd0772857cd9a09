"""Continuation and failure: goAway rotation with no audio lost, recovery after a 1011,
and Gemini's refusals at open as errors a client can act on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from rtcore.provider import ProviderUnavailable
from rtcore.provider import messages as n
from rtcore.testing import Driver
from rtcore_gemini_emulator import GeminiLiveEmulator, silence_pcm, utterance_pcm
from rtcore_gemini_live.provider import GeminiProvider
from tests.gemini.conftest import API_KEY, opened, until
from tests.gemini.test_turns import ask, spoken

CHUNK = 640  # 20 ms at 16 kHz


async def _stream(driver: Driver, pcm: bytes) -> None:
    """Audio as a client sends it: 20 ms chunks, paced at about real time."""
    for i in range(0, len(pcm), CHUNK):
        await driver.send(n.AppendAudio(pcm=pcm[i : i + CHUNK]))
        await asyncio.sleep(0.02)


async def test_goaway_rotates_the_connection_and_no_audio_is_lost(
    make_provider: Callable[..., GeminiProvider], emulator: GeminiLiveEmulator
) -> None:
    emulator.settings.connection_lifetime = 5.0
    emulator.settings.go_away_notice = 3.0
    sent = 0
    async with opened(make_provider()) as session:
        driver = Driver(session)
        for slot in (0, 3, 4):
            turn = utterance_pcm(slot) + silence_pcm(1.2)
            sent += len(turn)
            answered = len(driver.of(n.ResponseStarted))
            await _stream(driver, turn)
            await driver.wait(lambda a=answered: len(driver.of(n.ResponseStarted)) > a)
            rid = driver.of(n.ResponseStarted)[-1].response_id
            await driver.wait_done(rid)
            quiet = silence_pcm(1.5)  # audio keeps flowing while connections change
            sent += len(quiet)
            await _stream(driver, quiet)
        replayed = session.supervisor.replayed_audio  # type: ignore[attr-defined]
        await until(lambda: emulator.stats.audio_bytes >= sent + replayed)
    replies = [spoken(driver, e.response_id) for e in driver.of(n.ResponseStarted)]
    assert replies == ["You said: Hello.", "You said: Thank you, goodbye.",
                       "You said: What time is it in Tokyo?"]  # fmt: skip
    assert len(emulator.stats.setups) >= 3  # rotated on each goAway
    assert emulator.stats.resumptions >= 1  # resumed with Gemini's handle
    assert 1011 not in emulator.stats.close_codes()  # never cut off at the deadline
    # Every byte the client sent reached a connection exactly once, but for what a
    # connection replaced mid-turn (a machine too slow to reach a boundary in time) had
    # taken and not answered: that was sent again, to the connection after it.
    assert emulator.stats.audio_bytes == sent + replayed


async def test_a_broken_connection_fails_its_reply_and_the_session_resumes(
    make_provider: Callable[..., GeminiProvider], emulator: GeminiLiveEmulator
) -> None:
    emulator.inject("internal@2")  # the first connection's second turn
    async with opened(make_provider()) as session:
        driver = Driver(session)
        await driver.send(ask("item_1", "Hi"), n.CreateResponse(response_id="r1"))
        assert (await driver.wait_done("r1")).status == "completed"
        await driver.send(ask("item_2", "Again"), n.CreateResponse(response_id="r2"))
        broken = await driver.wait_done("r2")
        await driver.send(ask("item_3", "And again"), n.CreateResponse(response_id="r3"))
        done = await driver.wait_done("r3")
    assert broken.status == "failed"
    assert broken.error is not None
    assert broken.error.code == "server_error"
    assert done.status == "completed"
    assert spoken(driver, "r3") == "You said: And again"
    assert 1011 in emulator.stats.close_codes()
    assert emulator.stats.resumptions == 1


async def test_a_model_gemini_does_not_serve_is_model_not_found(
    make_provider: Callable[..., GeminiProvider],
) -> None:
    provider = make_provider(model="gemini-live-9-nonexistent")
    session = await provider.open_session(n.SessionConfig(model="gemini"))
    try:
        with pytest.raises(ProviderUnavailable) as caught:
            await session.connected()  # type: ignore[attr-defined]
    finally:
        await session.aclose()
    assert caught.value.code == "model_not_found"
    assert "gemini-live-9-nonexistent" in caught.value.message


async def test_a_rejected_key_is_invalid_api_key_and_ends_the_session(
    make_provider: Callable[..., GeminiProvider], emulator: GeminiLiveEmulator
) -> None:
    emulator.settings.rejected_keys.add(API_KEY)
    async with opened(make_provider()) as session:
        driver = Driver(session)
        await driver.send(ask("item_1", "Hi"), n.CreateResponse(response_id="r1"))
        done = await driver.wait_done("r1")
        await driver.wait(lambda: bool(driver.of(n.ProviderError)))
    error = driver.of(n.ProviderError)[0]
    assert (error.code, error.fatal) == ("invalid_api_key", True)
    assert "api_key" in error.message
    assert done.status == "failed"


async def test_vertex_with_a_service_account_key(
    make_provider: Callable[..., GeminiProvider], emulator: GeminiLiveEmulator
) -> None:
    import json

    key = json.dumps(emulator.service_account_info())
    async with opened(make_provider("vertex", vertex_credentials=key)) as session:
        driver = Driver(session)
        await driver.send(ask("item_1", "Hi"), n.CreateResponse(response_id="r1"))
        assert (await driver.wait_done("r1")).status == "completed"
    assert emulator.stats.tokens_issued >= 1


def test_bad_params_fail_at_start_naming_the_key(
    make_provider: Callable[..., GeminiProvider],
) -> None:
    with pytest.raises(ValueError, match="ssl_ca_file"):
        make_provider(ssl_ca_file="/nonexistent/ca.pem")
    with pytest.raises(ValueError, match="language"):
        make_provider(language="english please")
    with pytest.raises(ValueError, match="vertex_credentials"):
        make_provider("vertex", vertex_credentials="/nonexistent/key.json")


async def test_a_reply_that_stalls_midway_is_noticed_and_the_next_turn_answered(
    make_provider: Callable[..., GeminiProvider], emulator: GeminiLiveEmulator
) -> None:
    """The stall watch starts when a reply begins, not only when the session next wakes."""
    emulator.strike("stall")
    async with opened(make_provider(stall_timeout_seconds=0.5)) as session:
        driver = Driver(session)
        await driver.audio(utterance_pcm(0) + silence_pcm(1.5))
        await driver.wait(lambda: bool(driver.of(n.ResponseStarted)))
        first = driver.of(n.ResponseStarted)[0].response_id
        assert (await driver.wait_done(first)).status == "failed"
        await driver.audio(utterance_pcm(3) + silence_pcm(1.5))
        await driver.wait(lambda: len(driver.of(n.ResponseStarted)) == 2)
        second = driver.of(n.ResponseStarted)[1].response_id
        assert (await driver.wait_done(second)).status == "completed"
    assert emulator.stats.connections == 2
