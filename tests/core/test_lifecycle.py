"""A connection's phase: OPEN -> MOVING -> OPEN while it moves between upstreams, CLOSED
once from either; what waits for a move goes on when it ends, closed or not."""

from __future__ import annotations

import asyncio

from rtcore.lifecycle import Lifecycle, Phase


async def test_a_move_holds_what_waits_until_it_ends() -> None:
    life = Lifecycle()
    await life.settled()  # nothing under way: at once
    life.begin_move()
    assert life.phase is Phase.MOVING
    waiting = asyncio.create_task(life.settled())
    await asyncio.sleep(0)
    assert not waiting.done()
    life.end_move()
    await asyncio.wait_for(waiting, 5)
    assert life.phase is Phase.OPEN
    assert not life.closed


async def test_closed_during_a_move_stays_closed() -> None:
    life = Lifecycle()
    life.begin_move()
    waiting = asyncio.create_task(life.settled())
    assert life.close()
    life.end_move()
    await asyncio.wait_for(waiting, 5)
    assert life.phase is Phase.CLOSED
    assert life.closed
    life.begin_move()  # a move tried after the close does not reopen it
    life.end_move()
    assert life.phase is Phase.CLOSED


def test_closing_happens_once() -> None:
    life = Lifecycle()
    assert life.close()
    assert not life.close()
    assert life.closed
