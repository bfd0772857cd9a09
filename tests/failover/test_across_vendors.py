"""A spoken conversation that outlives its upstreams: Nova 2 -> Gemini Live -> OpenAI and back
to Nova, each move forced by a fault injected mid-conversation on the vendor's emulator, through
each vendor's real SDK behind ``rtcore serve``. The caller hears every utterance answered once,
at most one cut-off reply per move, every reply's audio whole, and a tool call made by a model
that has since gone is answered and continued by the next."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rtcore_emulated_speech import Script, default_reply, speech_seconds
from rtcore_gemini_emulator import GeminiLiveEmulator
from rtcore_openai_emulator import OpenAIRealtimeEmulator
from rtcore_sonic_emulator import NovaSonicEmulator
from tests.failover.conftest import COOLDOWN, Caller, Reply, call, write_config
from tests.transports.process import Served
from tests.transports.test_operations import sample, scrape

MOVED = re.compile(r"session moved from (\w+) \(\S+\) to (\w+) \(\S+\) in [\d.]+ s \((\w+)")
# The emulators' voice, cut into chunks and resampled on the way: a reply heard whole is its
# text's length to within a few milliseconds; a lost or repeated chunk is far more.
WHOLE = 0.02


def answer(slot: int) -> str:
    """What the emulators answer utterance ``slot``."""
    return default_reply(Script().transcript(slot))


def refused(served: Served) -> int:
    """How many times a deployment would not take the session (over or back)."""
    return sum("could not take the session over" in line for line in served.lines)


def moves(served: Served) -> list[tuple[str, str, str]]:
    return [m.groups() for line in served.lines if (m := MOVED.search(line))]  # type: ignore[misc]


async def moved(served: Served, caller: Caller, count: int) -> None:
    await caller.until(lambda: len(moves(served)) >= count)


@contextlib.asynccontextmanager
async def session(served: Served) -> AsyncIterator[Caller]:
    async for caller in call(served.url("voice")):
        yield caller


def assert_whole(reply: Reply, text: str) -> None:
    assert reply.status == "completed", reply.done
    assert reply.transcript == text
    assert reply.seconds == pytest.approx(speech_seconds(text), abs=WHOLE), (text, reply.seconds)


def assert_cut_off(reply: Reply, text: str, code: str) -> None:
    """A reply the move cut off: failed once, with the upstream's failure, after part of
    it was heard (never more than all of it)."""
    assert reply.status == "failed", reply.done
    assert reply.done is not None
    assert reply.done["status_details"]["error"]["code"] == code, reply.done
    assert text.startswith(reply.transcript)
    assert 0 < reply.seconds <= speech_seconds(text) + WHOLE


async def test_voice_session_moves_nova_gemini_openai_and_back(
    tmp_path: Path,
    nova: NovaSonicEmulator,
    gemini: GeminiLiveEmulator,
    openai: OpenAIRealtimeEmulator,
) -> None:
    config = write_config(tmp_path, nova, gemini, openai)
    async with Served("--config", str(config)) as served, session(served) as caller:
        said: list[int] = []

        async def say(slot: int) -> Reply:
            said.append(slot)
            await caller.say(slot)
            return await caller.answered(len(caller.done()) + 1)

        assert_whole(await say(0), answer(0))
        # A throttle storm: from now on every Nova stream is refused, the live one mid-reply.
        nova.inject("throttle", connections=1000)
        nova.strike("throttle")
        assert_cut_off(await say(3), answer(3), "rate_limit_exceeded")
        await moved(served, caller, 1)
        assert_whole(await say(4), answer(4))
        # Gemini's quota runs out mid-reply; Nova is still throttled: OpenAI takes over.
        gemini.strike("quota")
        assert_cut_off(await say(6), answer(6), "insufficient_quota")
        await moved(served, caller, 2)
        # Nova is still throttled when the session tries to go back to it after this reply.
        tried = refused(served)
        assert_whole(await say(7), answer(7))
        await caller.until(lambda: refused(served) > tried)
        # The refusal cooled Nova down; a turn that ends within that cooldown stays where it
        # is (the emulators answer in milliseconds), so the next one waits it out.
        await asyncio.sleep(COOLDOWN * 5)
        # Nova recovers. The weather question is answered with a tool call by OpenAI; at
        # that turn boundary the session goes back to Nova, before the caller has the result.
        nova.faults.clear()
        call_reply = await say(1)
        assert call_reply.status == "completed"
        assert [c["name"] for c in call_reply.calls] == ["get_weather"], call_reply.done
        await moved(served, caller, 3)
        result = '{"temperature_c": 18, "sky": "clear"}'
        await caller.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": call_reply.calls[0]["call_id"],
                    "output": result,
                },
            }
        )
        await caller.send({"type": "response.create"})
        # Nova has the conversation (the call among it) and answers with the result; the
        # emulators' script quotes what it was given.
        continued = await caller.answered(len(caller.done()) + 1)
        assert result in continued.transcript, caller.summary()
        assert_whole(continued, continued.transcript)
        # Nova was given the conversation as history: every turn so far, the call too.
        given = nova.stats.streams[-1]
        history = [text for role, interactive, text in given.texts if not interactive]
        assert history[::2] == [Script().transcript(slot) for slot in said], given.texts
        assert "get_weather" in history[-1]
        assert_whole(await say(8), answer(8))

        assert moves(served) == [
            ("nova", "gemini", "failover"),
            ("gemini", "openai", "failover"),
            ("openai", "nova", "failback"),
        ], served.stderr
        # One error per cut-off reply, none else; every reply finished once.
        errors = caller.of("error")
        assert [e["error"]["code"] for e in errors] == [
            "rate_limit_exceeded",
            "insufficient_quota",
        ], errors
        done_ids = [e["response"]["id"] for e in caller.of("response.done")]
        assert len(done_ids) == len(set(done_ids)) == len(said) + 1
        _, metrics = await scrape(served.port)
    # Each utterance reached one model, once (none was replayed: each had its reply begun
    # before its model went): what the emulators' VADs took, in order.
    assert [slot for stream in nova.stats.streams for slot, _ in stream.heard] == [0, 3, 8]
    assert [h.slot for h in gemini.stats.heard] == [4, 6]
    assert [h.slot for h in openai.stats.heard] == [7, 1]
    for reason, old, new in [
        ("failover", "nova", "gemini"),
        ("failover", "gemini", "openai"),
        ("failback", "openai", "nova"),
    ]:
        assert (
            sample(
                metrics, "rtcore_upstream_switches_total", reason=reason, **{"from": old, "to": new}
            )
            == 1
        ), metrics


async def test_a_stall_a_retired_model_and_a_1011_close_move_the_session(
    tmp_path: Path,
    nova: NovaSonicEmulator,
    gemini: GeminiLiveEmulator,
    openai: OpenAIRealtimeEmulator,
) -> None:
    # No failback: each move is one the session had to make.
    config = write_config(tmp_path, nova, gemini, openai, failback=False)
    async with Served("--config", str(config)) as served, session(served) as caller:
        said: list[int] = []

        async def say(slot: int) -> Reply:
            said.append(slot)
            await caller.say(slot)
            return await caller.answered(len(caller.done()) + 1)

        assert_whole(await say(0), answer(0))
        # Nova takes the turn and goes silent, and so does every new stream: the stall
        # recovery stalls again, and the session moves to Gemini, which answers the speech
        # nobody answered (nothing of a reply was heard: none failed).
        nova.strike("mute")
        nova.inject("mute@1", connections=1000)
        assert_whole(await say(3), answer(3))
        await moved(served, caller, 1)
        # From now on Nova refuses streams outright.
        nova.faults.clear()
        nova.inject("throttle", connections=1000)
        assert_whole(await say(4), answer(4))
        # Gemini's model is shut down: its live connection closes (1011, internal) mid-reply
        # and the reconnect is refused as for an unknown model: on to OpenAI.
        gemini.retire("gemini-3.8-live")
        gemini.strike("internal")
        assert_cut_off(await say(6), answer(6), "model_not_found")
        await moved(served, caller, 2)
        assert_whole(await say(7), answer(7))
        # OpenAI closes with 1011 mid-reply, and every reconnect the same way; Nova is back.
        nova.faults.clear()
        openai.strike("close=1011")
        openai.inject("close=1011@0", connections=1000)
        cut = await say(8)
        assert cut.done is not None, caller.summary()
        assert cut.status == "failed", caller.summary()
        code = cut.done["status_details"]["error"]["code"]
        assert_cut_off(cut, answer(8), code)
        await moved(served, caller, 3)
        assert_whole(await say(9), answer(9))

        assert moves(served) == [
            ("nova", "gemini", "failover"),
            ("gemini", "openai", "failover"),
            ("openai", "nova", "failover"),
        ], served.stderr
        assert "stream_stalled" in next(line for line in served.lines if "session moved" in line)
        errors = caller.of("error")
        assert [e["error"]["code"] for e in errors] == ["model_not_found", code], errors
        done_ids = [e["response"]["id"] for e in caller.of("response.done")]
        assert len(done_ids) == len(set(done_ids)) == len(said)
