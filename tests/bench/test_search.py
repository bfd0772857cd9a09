"""The max-N search's bisection, against phases whose outcome is known in advance."""

from __future__ import annotations

import asyncio

from bench.run import bisect_max


def _search(
    limit: int, *, start: int = 30, cap: int = 400, steps: int = 6
) -> tuple[int, list[int]]:
    tried: list[int] = []

    async def holds(n: int) -> bool:
        tried.append(n)
        return n <= limit

    return asyncio.run(bisect_max(holds, start=start, cap=cap, steps=steps)), tried


def test_doubles_then_bisects_to_within_ten_percent() -> None:
    assert _search(37) == (37, [30, 60, 45, 37, 41, 39])
    found, tried = _search(130, steps=10)
    assert tried[:4] == [30, 60, 120, 240]
    assert 130 - 130 // 10 <= found <= 130


def test_nothing_holds() -> None:
    found, tried = _search(0)
    assert found == 0
    assert tried == [30, 15, 7, 3, 1]


def test_stops_at_the_cap() -> None:
    assert _search(1000, cap=100) == (100, [30, 60, 100])


def test_bounded_by_steps_once_a_failure_bounds_it() -> None:
    found, tried = _search(37, steps=3)
    assert (found, tried) == (37, [30, 60, 45, 37, 41])


def test_doubling_is_not_cut_short_by_the_steps() -> None:
    # A machine that holds more than the steps would double to: the search still finds
    # where it fails (an upper bound), not a figure the steps ran out at.
    found, tried = _search(130, steps=1)
    assert tried == [30, 60, 120, 240, 180]
    assert found == 120
