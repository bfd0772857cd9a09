"""Faults on demand and the session cap (reference §3.7)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from rtcore_openai_emulator import OpenAIRealtimeEmulator
from rtcore_openai_emulator.faults import FaultSpecError, parse

from .conftest import (
    MODEL,
    WAIT,
    azure_client,
    next_event_within,
    openai_client,
    say_text,
    text_session,
    until,
    until_closed,
)


def test_fault_specs_parse() -> None:
    plan = parse(["cap=5", "server-error@2", "throttle", "close=1011@3"])
    assert plan.cap == 5.0
    assert plan.at[2].kind == "server-error"
    assert plan.at[0].kind == "throttle"
    assert (plan.at[3].kind, plan.at[3].code) == ("close", 1011)
    for bad in ("nonsense", "stall@0", "reset=5", "cap=soon", "server-error@x"):
        with pytest.raises(FaultSpecError):
            parse([bad])


async def test_session_expires_at_the_cap() -> None:
    async with OpenAIRealtimeEmulator(realtime_factor=0.0, session_cap=0.5) as emu:
        events: list[Any] = []
        async with openai_client(emu).realtime.connect(model=MODEL) as conn:
            async with asyncio.timeout(WAIT):
                async for event in conn:
                    events.append(event)
        assert [e.type for e in events] == ["session.created", "error"]
        assert events[1].error.code == "session_expired"
        assert events[1].error.message == "Your session hit the maximum duration of 0.5 seconds."
        assert emu.stats.closes[0].code == 1000


async def test_throttled_at_connect_then_served(emulator: OpenAIRealtimeEmulator) -> None:
    emulator.inject("throttle")
    events, code = await until_closed(openai_client(emulator), MODEL)
    assert [e.error.code for e in events] == ["rate_limit_exceeded"]
    assert code == 1013
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await until(conn, "session.created")


async def test_azure_throttling_is_http_429(emulator: OpenAIRealtimeEmulator) -> None:
    emulator.inject("throttle")
    with pytest.raises(InvalidStatus) as refused:
        async with azure_client(emulator).realtime.connect(model=MODEL):
            pass
    assert refused.value.response.status_code == 429


async def test_throttled_response_and_server_error(emulator: OpenAIRealtimeEmulator) -> None:
    emulator.inject("throttle@1", "server-error@2")
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await text_session(conn)
        await say_text(conn, "Hello.")
        await conn.response.create()
        throttled = await until(conn, "error")
        assert throttled.error.code == "rate_limit_exceeded"
        assert throttled.error.type == "rate_limit_error"
        await conn.response.create()
        failure = await until(conn, "error")
        assert failure.error.type == "server_error"
        failed = await until(conn, "response.done")
        assert failed.response.status == "failed"
        await conn.response.create()
        done = await until(conn, "response.done")
    assert done.response.status == "completed"
    assert emulator.stats.responses == 2  # the throttled one never started


async def test_reset_and_close_faults(emulator: OpenAIRealtimeEmulator) -> None:
    emulator.inject("reset@1")
    emulator.inject("close=1011@1")

    async def ask(conn: Any) -> None:
        await text_session(conn)
        await say_text(conn, "Hello.")
        await conn.response.create()

    for expected in (1006, 1011):
        events, code = await until_closed(openai_client(emulator), MODEL, ask)
        assert code == expected
        assert "response.done" not in [e.type for e in events]


async def test_stall_goes_quiet_but_keeps_reading(emulator: OpenAIRealtimeEmulator) -> None:
    emulator.inject("stall@1")
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await text_session(conn)
        await say_text(conn, "Hello.")
        await conn.response.create()
        await until(conn, "response.output_text.delta")
        # It goes on reading: a later session.update is received, and not answered.
        await conn.session.update(session={"type": "realtime", "instructions": "Still there?"})
        async with asyncio.timeout(WAIT):
            while len(emulator.stats.session_updates) < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        assert await next_event_within(conn, 0.3) is None


async def test_drop_connections(emulator: OpenAIRealtimeEmulator) -> None:
    async def cut(conn: Any) -> None:
        await until(conn, "session.created")
        assert emulator.drop_connections() == 1

    _, code = await until_closed(openai_client(emulator), MODEL, cut)
    assert code == 1006


async def test_a_struck_fault_hits_the_next_response_of_an_open_connection(
    emulator: OpenAIRealtimeEmulator,
) -> None:
    async def ask(conn: Any) -> None:
        await text_session(conn)
        await say_text(conn, "Hello.")
        await conn.response.create()
        await until(conn, "response.done")  # the first response is clean
        emulator.strike("close=1011")  # the connection is open already
        await say_text(conn, "Again.")
        await conn.response.create()

    events, code = await until_closed(openai_client(emulator), MODEL, ask)
    assert code == 1011
    assert [e.type for e in events].count("response.done") == 0  # the second never ends
    assert emulator.stats.connections == 1
    with pytest.raises(FaultSpecError):
        emulator.strike("throttle")  # refuses a response before it starts: inject it
