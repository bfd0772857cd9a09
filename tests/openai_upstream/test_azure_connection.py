"""Azure OpenAI's credential forms and paths through the provider, against the emulator's
Azure profile: an Entra token instead of a key (sent as the bearer), and the retired
preview path that ``api_version`` selects (``AsyncAzureOpenAI``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from rtcore.provider import ModelConfig
from rtcore.provider import messages as n
from rtcore.testing import Driver
from rtcore_openai_emulator import OpenAIRealtimeEmulator
from rtcore_openai_realtime.provider import OpenAIRealtimeProvider
from tests.openai_upstream.conftest import FAST, opened

TOKEN = "entra-token-for-the-test"


@pytest.fixture
async def only_the_token() -> AsyncIterator[OpenAIRealtimeEmulator]:
    """An emulator that accepts the Entra token alone."""
    async with OpenAIRealtimeEmulator(
        realtime_factor=0.0, api_keys=[TOKEN], deployments={"my-realtime": "gpt-realtime"}
    ) as emu:
        yield emu


@pytest.fixture
async def azure(
    only_the_token: OpenAIRealtimeEmulator, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., OpenAIRealtimeProvider]]:
    for name in ("AZURE_OPENAI_API_KEY", "AZURE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    made: list[OpenAIRealtimeProvider] = []

    def make(**params: object) -> OpenAIRealtimeProvider:
        config = ModelConfig(
            name="azure",
            provider="azure-realtime",
            model="my-realtime",
            params={"api_base": only_the_token.url_for("azure"), **FAST, **params},
            info={"base_model": "gpt-realtime"},
        )
        provider = OpenAIRealtimeProvider(config, "azure")
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


async def _text_turn(provider: OpenAIRealtimeProvider) -> Driver:
    async with opened(provider) as session:
        driver = Driver(session)
        await driver.send(n.AddItem(item=n.Message(id="item_1", role="user", text="Hello there")))
        await driver.send(n.CreateResponse(response_id="resp_1"))
        await driver.wait_done("resp_1", 30)
    return driver


@pytest.mark.parametrize("api_version", [None, "2025-04-01-preview"])
async def test_an_entra_token_is_the_credential(
    azure: Callable[..., OpenAIRealtimeProvider], api_version: str | None
) -> None:
    params: dict[str, object] = {"azure_ad_token": TOKEN}
    if api_version is not None:
        params["api_version"] = api_version  # the preview path, through AsyncAzureOpenAI
    provider = azure(**params)
    await provider.warm_up()
    driver = await _text_turn(provider)
    [done] = driver.of(n.ResponseDone)
    assert done.status == "completed"
    assert not driver.of(n.ProviderError)


async def test_a_key_the_resource_refuses_is_a_fatal_error(
    azure: Callable[..., OpenAIRealtimeProvider],
) -> None:
    driver = await _text_turn(azure(api_key="not-the-token"))
    errors = driver.of(n.ProviderError)
    assert [(e.code, e.fatal) for e in errors][:1] == [("invalid_api_key", True)]
