"""Connections to Bedrock: each session on an HTTP/2 connection of its own, so that a reset
ends one session's stream only; a spare opened ahead (warm-up) and the connections of
finished sessions hide the handshake from the next sessions."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from rtcore.provider import messages as n
from rtcore_sonic_emulator import NovaSonicEmulator, utterance_pcm
from tests.bedrock.conftest import V1, V2, Driver, until

SESSIONS = 5


async def _open(provider: Any, count: int) -> list[Driver]:
    sessions = await asyncio.gather(
        *(provider.open_session(n.SessionConfig(model=V2)) for _ in range(count))
    )
    return [Driver(s) for s in sessions]


async def _turns(drivers: list[Driver]) -> None:
    await asyncio.gather(*(d.audio(utterance_pcm(0)) for d in drivers))
    dones = await asyncio.gather(*(d.wait_done(1) for d in drivers))
    assert [d[0].status for d in dones] == ["completed"] * len(drivers)


async def test_sessions_have_a_connection_each(
    emulator: NovaSonicEmulator, make_provider: Any
) -> None:
    provider = make_provider(V2)
    await provider.warm_up()
    await until(lambda: emulator.stats.connections == 1)  # the spare
    drivers = await _open(provider, SESSIONS)
    try:
        await _turns(drivers)
    finally:
        await asyncio.gather(*(d.aclose() for d in drivers))
    assert emulator.stats.opened == SESSIONS
    # One per session, the first being the warm spare, and the spare opened behind them.
    assert SESSIONS <= emulator.stats.connections <= SESSIONS + 1


async def test_the_next_session_reuses_a_finished_ones_connection(
    emulator: NovaSonicEmulator, make_provider: Any
) -> None:
    provider = make_provider(V2)
    await provider.warm_up()
    for _ in range(3):
        [driver] = await _open(provider, 1)
        try:
            await _turns([driver])
        finally:
            await driver.aclose()
    assert emulator.stats.opened == 3
    # The spare and the one opened behind the first session, used in turn: no handshake
    # per session.
    assert emulator.stats.connections == 2


@pytest.mark.parametrize("model", [V1, V2])
async def test_a_reset_ends_only_the_session_on_that_connection(
    emulator: NovaSonicEmulator, make_provider: Any, model: str
) -> None:
    provider = make_provider(model)
    await provider.warm_up()  # as serve does: no race to connect on a cold client
    emulator.inject("reset@1")  # the first stream opened: the victim's
    victim = Driver(await provider.open_session(n.SessionConfig(model=model)))
    bystander = Driver(await provider.open_session(n.SessionConfig(model=model)))
    try:
        await victim.audio(utterance_pcm(0))
        await until(lambda: emulator.stats.opened == 1)  # streams open on first audio
        await bystander.audio(utterance_pcm(0))
        await bystander.wait_done(1, within=15)
        await victim.wait(lambda: len(victim.of(n.ResponseDone)) >= 1, within=15)
        # The reset hit the victim's reply (its TCP connection aborted at its first
        # audio) and nothing else: the bystander's reply, in flight at the same time,
        # completed on its untouched stream.
        assert emulator.stats.responses >= 2
        assert [d.status for d in bystander.of(n.ResponseDone)] == ["completed"]
        assert bystander.of(n.ProviderError) == []
        assert bystander.of(n.AudioDelta)
        # The victim recovered on a new stream and goes on.
        await victim.audio(utterance_pcm(3))
        await victim.wait(
            lambda: any(d.status == "completed" for d in victim.of(n.ResponseDone)), within=20
        )
        assert emulator.stats.opened == 3  # victim, bystander, the victim's recovery
    finally:
        await asyncio.gather(victim.aclose(), bystander.aclose())


async def test_warm_up_of_an_unreachable_endpoint_fails_promptly(make_provider: Any) -> None:
    provider = make_provider(
        V2, aws_bedrock_runtime_endpoint="https://localhost:9", open_timeout_seconds=2
    )
    started = time.monotonic()
    with pytest.raises(Exception) as info:  # noqa: PT011 - the transport's own error
        await provider.warm_up()
    assert not isinstance(info.value, AssertionError)
    assert time.monotonic() - started < 3
