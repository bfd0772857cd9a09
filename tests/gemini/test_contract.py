"""The Gemini Live provider (real SDK over TLS WebSocket) against the emulator, on both
backends, held to the provider contract (rtcore.testing)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from rtcore.kit import UpstreamState
from rtcore.provider import Provider
from rtcore.testing import Driver, ProviderContract, Reconnect, Speech
from rtcore_gemini_emulator import GeminiLiveEmulator, silence_pcm, utterance_pcm
from rtcore_gemini_live.provider import GeminiProvider
from rtcore_gemini_live.session import GeminiSession


async def _until(predicate: Callable[[], bool], within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - the supervisor's state has no event
            await asyncio.sleep(0.01)


class TestGeminiContract(ProviderContract):
    @pytest.fixture(params=["gemini", "vertex"])
    def backend(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture
    def contract_provider(
        self,
        backend: str,
        emulator: GeminiLiveEmulator,
        make_provider: Callable[..., GeminiProvider],
    ) -> Provider:
        # Paced so that a reply streams long enough to be cancelled or spoken over.
        emulator.realtime_factor = 0.3
        return make_provider(backend)

    @pytest.fixture
    def contract_speech(self) -> Speech:
        return Speech(turn=utterance_pcm(0) + silence_pcm(2.0))

    @pytest.fixture
    def contract_reconnect(self, emulator: GeminiLiveEmulator) -> Reconnect:
        async def drop_the_connection(driver: Driver) -> None:
            """The network drops the live connection (the emulator aborts its TCP
            connection); the session goes on over a new one, resumed from its handle."""
            session = driver.session
            assert isinstance(session, GeminiSession)
            supervisor = session.supervisor
            await supervisor.opened()
            old = supervisor.handle
            assert emulator.drop_connections() >= 1
            await _until(
                lambda: (
                    supervisor.handle not in (None, old) and supervisor.state is UpstreamState.OPEN
                )
            )

        return drop_the_connection

    @pytest.fixture
    def contract_unreachable(
        self, backend: str, make_provider: Callable[..., GeminiProvider]
    ) -> Provider:
        # Nothing listens on the discard port on loopback.
        return make_provider(backend, api_base="https://localhost:9")
