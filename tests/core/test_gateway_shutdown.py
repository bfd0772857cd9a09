"""A stopping server cancels the transport's handlers; the sessions' upstream closes must
still run to their end, and the gateway waits for them before its providers close."""

from __future__ import annotations

import asyncio

from rtcore.provider import messages as n
from tests.core.conftest import Harness, ScriptedProvider, ScriptedSession


class SlowClosingSession(ScriptedSession):
    """Its close takes a while, as a real upstream's graceful close does."""

    closed = False

    async def aclose(self) -> None:
        await asyncio.sleep(0.2)
        self.closed = True
        await super().aclose()


class SlowClosingProvider(ScriptedProvider):
    async def open_session(self, config: n.SessionConfig) -> SlowClosingSession:
        session = SlowClosingSession(self.script, self.commands)
        self.sessions.append(session)
        return session


async def test_a_cancelled_handler_still_closes_its_upstream_before_the_gateway_stops() -> None:
    provider = SlowClosingProvider(lambda _c: [])
    harness = Harness(provider)
    opened = asyncio.Event()

    async def handler() -> None:
        async with harness as client:
            await client.wait_for("session.created")
            opened.set()
            await asyncio.Future()  # the client stays connected

    task = asyncio.create_task(handler())
    await opened.wait()
    # What aiohttp does to a handler when the server stops: cancel it, and after its
    # shutdown timeout cancel it again, wherever it is by then (here: closing).
    task.cancel()
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    (session,) = provider.sessions
    assert not session.closed  # its close is still running
    await harness.gateway.aclose()
    assert session.closed
