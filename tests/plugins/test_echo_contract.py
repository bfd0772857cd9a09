"""The echo provider against the provider contract (rtcore.testing)."""

from __future__ import annotations

import pytest
from echo_harness import silence, tone

from rtcore.provider import ModelConfig, Provider
from rtcore.testing import Driver, ProviderContract, Reconnect, Speech
from rtcore_echo import EchoProvider
from rtcore_echo.session import EchoSession


def echo(**params: object) -> EchoProvider:
    return EchoProvider(ModelConfig(name="echo", provider="echo", model="echo-1", params=params))


async def reconnect_echo(driver: Driver) -> None:
    assert isinstance(driver.session, EchoSession)
    await driver.session.reconnect()


class TestEchoContract(ProviderContract):
    @pytest.fixture
    def contract_provider(self) -> Provider:
        # 10 ms a chunk: a reply to the contract's question streams for about 1.2 s.
        return echo(chunk_delay_ms=10)

    @pytest.fixture
    def contract_speech(self) -> Speech:
        return Speech(turn=tone(600) + silence(700))

    @pytest.fixture
    def contract_reconnect(self) -> Reconnect:
        return reconnect_echo

    @pytest.fixture
    def contract_unreachable(self) -> Provider:
        return echo(unavailable="The echo upstream cannot be reached.")
