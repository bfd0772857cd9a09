"""The pytest plugin (entry point ``pytest11: rtcore``): the contract suite's fixtures.

A provider's tests define ``contract_provider`` (and the optional fixtures the contract
names); ``contract_open`` opens sessions on it and closes them after the test. The fixture
is pytest-asyncio's own, so the suite runs in its strict mode as in its auto mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from rtcore.provider import Provider
from rtcore.provider.messages import SessionConfig
from rtcore.testing.driver import Driver

OpenSession = Callable[..., Awaitable[Driver]]


try:
    from pytest_asyncio import fixture as async_fixture
except ImportError:  # the contract needs it to run; pytest without it must still start
    async_fixture = pytest.fixture  # type: ignore[assignment]


@async_fixture
async def contract_open(contract_provider: Provider) -> AsyncIterator[OpenSession]:
    drivers: list[Driver] = []

    async def open_(config: SessionConfig | None = None, **fields: object) -> Driver:
        base = config or SessionConfig(model="contract")
        if fields:
            import msgspec

            base = msgspec.structs.replace(base, **fields)
        driver = Driver(await contract_provider.open_session(base))
        drivers.append(driver)
        return driver

    yield open_
    for driver in drivers:
        if not driver.ended:
            await driver.aclose()
