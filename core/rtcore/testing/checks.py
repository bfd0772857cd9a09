"""What the contract's tests look for in a session's events, and the skips for what a
provider declares it cannot do.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rtcore.provider import Prices, Provider
from rtcore.provider.messages import ResponseDone, ResponseStarted, TextDelta, TranscriptDelta
from rtcore.testing.driver import Driver


def said(driver: Driver, response_id: str) -> str:
    words = [e.text for e in driver.for_response(response_id) if isinstance(e, TextDelta)]
    words += [e.text for e in driver.for_response(response_id) if isinstance(e, TranscriptDelta)]
    return "".join(words)


def has_output(driver: Driver, response_id: str) -> bool:
    return any(not isinstance(e, ResponseDone) for e in driver.for_response(response_id))


def by_duration_only(prices: Prices) -> bool:
    tokens = (prices.input_text, prices.output_text, prices.input_audio, prices.output_audio)
    return not any(tokens) and bool(prices.input_audio_second or prices.output_audio_second)


def assert_one_done(driver: Driver, response_id: str) -> ResponseDone:
    """Exactly one done for the id, and nothing of the response after it."""
    dones = driver.done(response_id)
    assert len(dones) == 1, f"{response_id}: {len(dones)} ResponseDone events"
    events = driver.for_response(response_id)
    assert events[-1] is dones[0], f"{response_id}: output after its ResponseDone"
    return dones[0]


def requires(provider: Provider, capability: str) -> None:
    """Skip a test of what the provider declares it cannot do (the core refuses it)."""
    if not getattr(provider.capabilities, capability):
        pytest.skip(f"the provider declares {capability}=False: the core refuses it")


def started_more_than(driver: Driver, count: int) -> Callable[[], bool]:
    return lambda: len(driver.of(ResponseStarted)) > count


def output_after(driver: Driver, response_id: str, index: int) -> bool:
    return any(
        not isinstance(e, ResponseDone) and getattr(e, "response_id", None) == response_id
        for e in driver.events[index:]
    )
