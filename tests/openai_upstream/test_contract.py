"""The OpenAI-protocol provider (the openai SDK's realtime client) against the emulator,
on each vendor profile, held to the provider contract (rtcore.testing)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from rtcore.kit import UpstreamState
from rtcore.provider import Provider
from rtcore.testing import Driver, ProviderContract, Reconnect, Speech
from rtcore_openai_emulator import OpenAIRealtimeEmulator, silence_pcm, utterance_pcm
from rtcore_openai_realtime.provider import OpenAIRealtimeProvider
from rtcore_openai_realtime.session import OpenAISession


async def _until(predicate: Callable[[], bool], within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - the supervisor's state has no event
            await asyncio.sleep(0.01)


class TestOpenAIContract(ProviderContract):
    @pytest.fixture(params=["openai", "azure", "xai"])
    def vendor(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture
    def contract_provider(
        self,
        vendor: str,
        emulator: OpenAIRealtimeEmulator,
        make_provider: Callable[..., OpenAIRealtimeProvider],
    ) -> Provider:
        # Paced so that a reply streams long enough to be cancelled or spoken over.
        emulator.realtime_factor = 0.3
        return make_provider(vendor)

    @pytest.fixture
    def contract_speech(self) -> Speech:
        return Speech(
            turn=utterance_pcm(0, sample_rate=24000) + silence_pcm(0.5, 24000), rate=24000
        )

    @pytest.fixture
    def contract_reconnect(self, emulator: OpenAIRealtimeEmulator) -> Reconnect:
        async def drop_the_connection(driver: Driver) -> None:
            """The network drops the live connection; the session goes on over a new one,
            seeded with the conversation."""
            session = driver.session
            assert isinstance(session, OpenAISession)
            supervisor = session.supervisor
            await supervisor.opened()
            before = emulator.stats.connections
            assert emulator.drop_connections() >= 1
            await _until(
                lambda: (
                    emulator.stats.connections > before and supervisor.state is UpstreamState.OPEN
                )
            )

        return drop_the_connection

    @pytest.fixture
    def contract_unreachable(
        self, vendor: str, make_provider: Callable[..., OpenAIRealtimeProvider]
    ) -> Provider:
        # Nothing listens on the discard port on loopback.
        return make_provider(vendor, api_base="http://127.0.0.1:9")
