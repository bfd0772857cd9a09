"""Speech paced in real time (rtcore_emulated_speech.paced) and a connection's jobs run until
one ends (rtcore_emulator_kit.web), as the Gemini and OpenAI emulators both use them."""

from __future__ import annotations

import asyncio
import time

import pytest

from rtcore_emulated_speech import synthesize
from rtcore_emulated_speech.paced import PacedSpeech, fragments
from rtcore_emulator_kit.web import until_one_ends

RATE = 24000
REPLY = "You said: hello there, how are you?"


def _speech(chunk_seconds: float = 0.08) -> tuple[PacedSpeech, bytes]:
    pcm = synthesize(REPLY, 150.0, RATE)
    return PacedSpeech(REPLY, pcm, RATE, chunk_seconds), pcm


async def test_unpaced_speech_hands_out_every_chunk_and_every_fragment_once() -> None:
    speech, pcm = _speech()
    chunks = [item async for item in speech.chunks(lambda: 0.0, asyncio.Event())]
    assert b"".join(chunk for _, chunk in chunks) == pcm
    assert [f for starting, _ in chunks for f in starting] == fragments(REPLY)
    assert chunks[0][0] == ["You "]  # the first word starts in the first chunk
    assert "".join(speech.said) == REPLY
    assert speech.sent == len(pcm)
    assert speech.seconds == pytest.approx(len(pcm) / 2 / RATE)
    assert [text for _, text in speech.spoken()] == fragments(REPLY)
    assert speech.spoken()[0][0] == 0.0


async def test_paced_speech_keeps_time_and_stops_when_interrupted() -> None:
    speech, pcm = _speech(chunk_seconds=0.02)
    stop = asyncio.Event()
    started = time.monotonic()
    got = 0
    async for _, _chunk in speech.chunks(lambda: 1.0, stop):
        got += 1
        if got == 5:
            stop.set()
    # Four chunks' worth of time passed before the fifth was due; the sixth never came.
    assert time.monotonic() - started >= 4 * 0.02 * 0.9
    assert got == 5
    assert speech.sent == 5 * 2 * round(0.02 * RATE) < len(pcm)
    assert "".join(speech.said) != REPLY


async def test_the_first_job_to_end_ends_the_rest_and_its_failure_is_raised() -> None:
    async def fails() -> None:
        raise RuntimeError("broken")

    forever = asyncio.ensure_future(asyncio.Event().wait())
    with pytest.raises(RuntimeError, match="broken"):
        await until_one_ends([asyncio.ensure_future(fails()), forever])
    assert forever.cancelled()


async def test_an_exception_a_job_settled_on_is_raised_and_a_gone_client_is_not() -> None:
    settled: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()
    settled.set_result(ValueError("closing"))
    with pytest.raises(ValueError, match="closing"):
        await until_one_ends([settled])

    async def gone() -> None:
        raise ConnectionResetError

    await until_one_ends([asyncio.ensure_future(gone())])
