"""The Gemini Live provider (real SDK over TLS WebSocket) against the emulator, on both
backends, held to the provider contract (rtcore.testing)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rtcore.provider import Provider
from rtcore.testing import ProviderContract, Speech
from rtcore_gemini_emulator import GeminiLiveEmulator, silence_pcm, utterance_pcm
from rtcore_gemini_live.provider import GeminiProvider


class TestGeminiContract(ProviderContract):
    @pytest.fixture(params=["gemini", "vertex"])
    def contract_provider(
        self,
        request: pytest.FixtureRequest,
        emulator: GeminiLiveEmulator,
        make_provider: Callable[..., GeminiProvider],
    ) -> Provider:
        # Paced so that a reply streams long enough to be cancelled or spoken over.
        emulator.realtime_factor = 0.3
        return make_provider(request.param)

    @pytest.fixture
    def contract_speech(self) -> Speech:
        return Speech(turn=utterance_pcm(0) + silence_pcm(2.0))
