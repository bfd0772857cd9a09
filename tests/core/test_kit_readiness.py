"""The kit's ReadinessCheck: what a provider's readiness says, from the check its sessions
need, and the background recheck that makes a model ready once its credentials appear."""

from __future__ import annotations

import asyncio

import pytest

from rtcore.kit import ReadinessCheck
from rtcore.provider import ProviderUnavailable


class Credentials:
    def __init__(self) -> None:
        self.present = False
        self.checks = 0

    async def check(self) -> str:
        self.checks += 1
        if not self.present:
            raise ProviderUnavailable("no credentials found", code="missing_credentials")
        return "client"


async def test_it_says_starting_then_why_then_nothing() -> None:
    creds = Credentials()
    check = ReadinessCheck(creds.check, starting="resolving the credentials", recheck_seconds=0)
    assert check.reason() == "starting: resolving the credentials"
    with pytest.raises(ProviderUnavailable):
        await check.run()
    creds.present = True  # a token file mounted after the start
    # The failure is reported, and its recheck starts in the background ...
    assert check.reason() == "missing_credentials: no credentials found"
    async with asyncio.timeout(30):
        while check.reason() is not None:  # noqa: ASYNC110 (reason() is what starts it)
            await asyncio.sleep(0.01)
    # ... which made it ready with nobody calling run.
    assert creds.checks == 2
    assert await check.run() == "client"
    check.close()


async def test_a_failed_check_is_not_rerun_before_its_time() -> None:
    creds = Credentials()
    check = ReadinessCheck(creds.check, starting="x", recheck_seconds=3600)
    with pytest.raises(ProviderUnavailable):
        await check.run()
    for _ in range(3):
        assert check.reason() == "missing_credentials: no credentials found"
        await asyncio.sleep(0)
    assert creds.checks == 1


async def test_sessions_starting_together_check_one_at_a_time() -> None:
    running = 0
    most = 0

    async def slow() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1

    check: ReadinessCheck[None] = ReadinessCheck(slow, starting="x")
    await asyncio.gather(*(check.run() for _ in range(5)))
    assert most == 1
    assert check.reason() is None


async def test_no_recheck_starts_once_closed() -> None:
    creds = Credentials()
    check = ReadinessCheck(creds.check, starting="x", recheck_seconds=0)
    with pytest.raises(ProviderUnavailable):
        await check.run()
    check.close()
    creds.present = True
    for _ in range(3):  # readiness probes while the gateway shuts down
        assert check.reason() == "missing_credentials: no credentials found"
        await asyncio.sleep(0)
    assert creds.checks == 1  # nothing was checked, nor a client built, after the close
