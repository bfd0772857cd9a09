"""Each vendor's failures as the client meets them: OpenAI and xAI refuse a key or a model
after the upgrade (an ``error``, then a close 3000 or 4000), Azure at the handshake (HTTP
401 or 400); a throttled connection is retried, a failed response fails alone and the
session goes on."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rtcore.provider import ProviderUnavailable
from rtcore.provider import messages as n
from rtcore.testing import Driver
from rtcore_openai_emulator import OpenAIRealtimeEmulator
from rtcore_openai_realtime.provider import OpenAIRealtimeProvider
from rtcore_openai_realtime.session import OpenAISession
from tests.openai_upstream.conftest import opened

VENDORS = ["openai", "azure", "xai"]


async def _refusal(provider: OpenAIRealtimeProvider) -> ProviderUnavailable:
    async with opened(provider) as session:
        assert isinstance(session, OpenAISession)
        with pytest.raises(ProviderUnavailable) as refused:
            await session.connected()
    return refused.value


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_rejected_key(
    make_provider: Callable[..., OpenAIRealtimeProvider],
    emulator: OpenAIRealtimeEmulator,
    vendor: str,
) -> None:
    emulator.settings.rejected_keys.add("sk-revoked")
    refused = await _refusal(make_provider(vendor, api_key="sk-revoked"))
    assert refused.code == "invalid_api_key"
    assert "api_key" in refused.message
    assert "sk-revoked" not in refused.message
    if vendor == "azure":
        assert emulator.stats.refused == 1  # HTTP 401 at the handshake
    else:
        assert 3000 in emulator.stats.close_codes()


@pytest.mark.parametrize(
    ("vendor", "model"),
    [("openai", "gpt-realtime-9"), ("azure", "no-such-deployment"), ("xai", "grok-voice-9")],
)
async def test_an_unknown_model(
    make_provider: Callable[..., OpenAIRealtimeProvider],
    emulator: OpenAIRealtimeEmulator,
    vendor: str,
    model: str,
) -> None:
    refused = await _refusal(make_provider(vendor, model=model))
    assert refused.code == "model_not_found"
    assert model in refused.message
    if vendor == "azure":
        assert "HTTP 400" in refused.message
    else:
        assert 4000 in emulator.stats.close_codes()


async def test_a_session_whose_upstream_refuses_ends_with_a_fatal_error(
    make_provider: Callable[..., OpenAIRealtimeProvider], emulator: OpenAIRealtimeEmulator
) -> None:
    emulator.settings.rejected_keys.add("sk-revoked")
    async with opened(make_provider("openai", api_key="sk-revoked")) as session:
        driver = Driver(session)
        await driver.send(
            n.AddItem(item=n.Message(id="item_1", role="user", text="Hi")),
            n.CreateResponse(response_id="resp_1"),
        )
        done = await driver.wait_done("resp_1", 30)
        await driver.wait(lambda: driver.ended, 30)
    assert done.status == "failed"
    errors = driver.of(n.ProviderError)
    assert [(e.code, e.fatal) for e in errors] == [("invalid_api_key", True)]


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_throttled_connection_is_retried(
    make_provider: Callable[..., OpenAIRealtimeProvider],
    emulator: OpenAIRealtimeEmulator,
    vendor: str,
) -> None:
    emulator.inject("throttle")
    async with opened(make_provider(vendor), output_modalities=("text",)) as session:
        driver = Driver(session)
        await driver.send(
            n.AddItem(item=n.Message(id="item_1", role="user", text="Hi")),
            n.CreateResponse(response_id="resp_1"),
        )
        done = await driver.wait_done("resp_1", 30)
    assert done.status == "completed"
    assert emulator.stats.connections + emulator.stats.refused >= 2
    assert not driver.of(n.ProviderError)


async def test_a_failed_response_fails_alone(
    make_provider: Callable[..., OpenAIRealtimeProvider], emulator: OpenAIRealtimeEmulator
) -> None:
    emulator.inject("server-error@1")
    async with opened(make_provider("openai"), output_modalities=("text",)) as session:
        driver = Driver(session)
        await driver.send(
            n.AddItem(item=n.Message(id="item_1", role="user", text="Hi")),
            n.CreateResponse(response_id="resp_1"),
        )
        first = await driver.wait_done("resp_1", 30)
        await driver.send(
            n.AddItem(item=n.Message(id="item_2", role="user", text="Hello there")),
            n.CreateResponse(response_id="resp_2"),
        )
        second = await driver.wait_done("resp_2", 30)
    assert first.status == "failed"
    assert second.status == "completed"
    assert emulator.stats.connections == 1  # the socket stayed open
    assert all(not e.fatal for e in driver.of(n.ProviderError))
