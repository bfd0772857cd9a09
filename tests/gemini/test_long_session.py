"""A long Gemini session, its limits shortened: Gemini's ~10-minute connections (each with
a goAway a minute before its end) and its 15-minute session limit, crossed by a
conversation that keeps talking through them — every utterance answered, every byte of
the user's audio heard exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from rtcore.provider import messages as n
from rtcore.testing import Driver
from rtcore_gemini_emulator import GeminiLiveEmulator, silence_pcm, utterance_pcm
from rtcore_gemini_live.provider import GeminiProvider
from tests.gemini.conftest import opened, until
from tests.gemini.test_turns import spoken

CHUNK = 640  # 20 ms at 16 kHz
# Gemini's figures divided by 60: a connection lives 10 s (600 s), its goAway comes 3 s
# before the end (60 s, rounded up so a busy machine still meets it), a session without
# compression ends after 15 s (900 s). Twenty turns stream over 50 s of audio at real
# time: five connections or more, over three times the session limit.
CONNECTION_SECONDS = 10.0
NOTICE_SECONDS = 3.0
SESSION_SECONDS = 15.0
TURNS = 20
SAYS = {
    0: "Hello.",
    1: "What is the weather like in Paris?",
    3: "Thank you, goodbye.",
    4: "What time is it in Tokyo?",
    5: "Stop.",
}


async def _stream(driver: Driver, pcm: bytes) -> None:
    """Audio as a client sends it: 20 ms chunks at real time."""
    for i in range(0, len(pcm), CHUNK):
        await driver.send(n.AppendAudio(pcm=pcm[i : i + CHUNK]))
        await asyncio.sleep(0.02)


@pytest.mark.slow
async def test_a_long_session_crosses_goaways_and_the_session_limit(
    make_provider: Callable[..., GeminiProvider], emulator: GeminiLiveEmulator
) -> None:
    emulator.settings.connection_lifetime = CONNECTION_SECONDS
    emulator.settings.go_away_notice = NOTICE_SECONDS
    emulator.settings.session_lifetime = SESSION_SECONDS
    slots = [list(SAYS)[i % len(SAYS)] for i in range(TURNS)]
    sent = 0
    async with opened(make_provider()) as session:
        driver = Driver(session)
        for slot in slots:
            answered = len(driver.of(n.ResponseStarted))
            turn = utterance_pcm(slot, trail_silence=1.2)
            sent += len(turn)
            await _stream(driver, turn)
            await driver.wait(lambda a=answered: len(driver.of(n.ResponseStarted)) > a, 60)
            await driver.wait_done(driver.of(n.ResponseStarted)[-1].response_id, 60)
            quiet = silence_pcm(0.5)  # the microphone stays open between turns
            sent += len(quiet)
            await _stream(driver, quiet)
        replayed = session.supervisor.replayed_audio  # type: ignore[attr-defined]
        await until(lambda: emulator.stats.audio_bytes >= sent + replayed)
    streamed = sent / 32000  # seconds of audio, sent at real time
    replies = [spoken(driver, e.response_id) for e in driver.of(n.ResponseStarted)]
    assert replies == [f"You said: {SAYS[slot]}" for slot in slots]
    assert not driver.of(n.ProviderError)
    assert streamed > 3 * SESSION_SECONDS  # the session outlived Gemini's limit
    assert len(emulator.stats.setups) >= streamed // CONNECTION_SECONDS
    assert emulator.stats.resumptions == len(emulator.stats.setups) - 1
    # Every connection was replaced before Gemini cut it off.
    assert 1011 not in emulator.stats.close_codes()
    # Every byte the client sent reached a connection exactly once, but for what a
    # connection replaced mid-turn had taken and not answered (on a machine too slow to
    # reach a turn boundary before the deadline): sent again, to the connection after it.
    assert emulator.stats.audio_bytes == sent + replayed
    heard = [h.slot for h in emulator.stats.heard]
    if replayed:
        # A turn heard by a connection that went before answering is heard again.
        heard = [slot for i, slot in enumerate(heard) if i == 0 or heard[i - 1] != slot]
    assert heard == slots
