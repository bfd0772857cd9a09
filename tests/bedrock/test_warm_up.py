"""Connection warm-up: sessions that start together share one TLS connection once the
model's client is warm; on a cold client each opens its own (the SDK's pool has no lock)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from rtcore.provider import messages as n
from rtcore_sonic_emulator import NovaSonicEmulator, utterance_pcm
from tests.bedrock.conftest import V2, Driver

SESSIONS = 5


async def _concurrent_turns(provider: Any) -> None:
    sessions = await asyncio.gather(
        *(provider.open_session(n.SessionConfig(model=V2)) for _ in range(SESSIONS))
    )
    drivers = [Driver(s) for s in sessions]
    try:
        await asyncio.gather(*(d.audio(utterance_pcm(0)) for d in drivers))
        dones = await asyncio.gather(*(d.wait_done(1) for d in drivers))
        assert [d[0].status for d in dones] == ["completed"] * SESSIONS
    finally:
        await asyncio.gather(*(d.aclose() for d in drivers))


async def test_warm_client_shares_one_connection(
    emulator: NovaSonicEmulator, make_provider: Any
) -> None:
    provider = make_provider(V2)
    await provider.warm_up()
    await _concurrent_turns(provider)
    assert emulator.stats.opened == SESSIONS
    assert emulator.stats.connections == 1


async def test_cold_client_opens_a_connection_per_session(
    emulator: NovaSonicEmulator, make_provider: Any
) -> None:
    # The trap warm-up avoids, measured: without it, concurrent first sessions each connect.
    await _concurrent_turns(make_provider(V2))
    assert emulator.stats.connections > 1


async def test_warm_up_of_an_unreachable_endpoint_fails_promptly(make_provider: Any) -> None:
    provider = make_provider(
        V2, aws_bedrock_runtime_endpoint="https://localhost:9", open_timeout_seconds=2
    )
    started = time.monotonic()
    with pytest.raises(Exception) as info:  # noqa: PT011 - the transport's own error
        await provider.warm_up()
    assert not isinstance(info.value, AssertionError)
    assert time.monotonic() - started < 3
