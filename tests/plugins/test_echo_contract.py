"""The echo provider against the provider contract (rtcore.testing)."""

from __future__ import annotations

import pytest
from echo_harness import silence, tone

from rtcore.provider import ModelConfig, Provider
from rtcore.testing import ProviderContract, Speech
from rtcore_echo import EchoProvider


class TestEchoContract(ProviderContract):
    @pytest.fixture
    def contract_provider(self) -> Provider:
        # 10 ms a chunk: a reply to the contract's question streams for about 1.2 s.
        params = {"chunk_delay_ms": 10}
        return EchoProvider(
            ModelConfig(name="echo", provider="echo", model="echo-1", params=params)
        )

    @pytest.fixture
    def contract_speech(self) -> Speech:
        return Speech(turn=tone(600) + silence(700))
