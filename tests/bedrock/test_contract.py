"""The Bedrock provider (real SDK over HTTP/2) against the emulator, on both models, held
to the provider contract (rtcore.testing)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rtcore.provider import Provider
from rtcore.testing import ProviderContract, Speech
from rtcore_bedrock_sonic.provider import SonicProvider
from rtcore_sonic_emulator import NovaSonicEmulator, silence_pcm, utterance_pcm
from tests.bedrock.conftest import V1, V2


class TestBedrockContract(ProviderContract):
    @pytest.fixture(params=[V1, V2])
    def contract_provider(
        self,
        request: pytest.FixtureRequest,
        emulator: NovaSonicEmulator,
        make_provider: Callable[..., SonicProvider],
    ) -> Provider:
        # Paced so that a reply streams long enough to be cancelled or spoken over.
        emulator.realtime_factor = 0.3
        return make_provider(request.param)

    @pytest.fixture
    def contract_speech(self) -> Speech:
        return Speech(turn=utterance_pcm(0) + silence_pcm(2.0))
