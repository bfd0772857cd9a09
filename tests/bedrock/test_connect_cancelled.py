"""A connect given up on (a session that stops waiting for it, or the process stopping:
asyncio cancels every task left at exit) leaves nothing behind: awscrt completes its
connect future from its own thread and, on a cancelled one, printed ``InvalidStateError``
and lost the connection (a traceback at shutdown, a socket held)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any
from urllib.parse import urlsplit

import pytest
from smithy_core import URI

from rtcore_bedrock_sonic.aws import PooledCRTClient
from rtcore_sonic_emulator import NovaSonicEmulator
from tests.bedrock.conftest import until

CONNECTS = 8


async def test_a_cancelled_connect_is_closed_when_it_arrives_and_raises_nothing(
    emulator: NovaSonicEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    client = PooledCRTClient(ca_file=str(emulator.ca_file))
    endpoint = urlsplit(emulator.endpoint)
    url = URI(scheme="https", host=endpoint.hostname or "", port=endpoint.port)
    closed_before = emulator.stats.connections_closed
    try:
        for _ in range(CONNECTS):
            connecting = asyncio.ensure_future(client._create_connection(url))
            await asyncio.sleep(0)  # the connect is under way in awscrt
            connecting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await connecting
        # Each connection, once made, is closed: the emulator sees every one go.
        await until(
            lambda: emulator.stats.connections_closed - closed_before >= CONNECTS, within=30
        )
    finally:
        await client.close()
    assert unraisable == []
