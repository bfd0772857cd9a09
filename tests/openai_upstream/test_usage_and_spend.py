"""Usage per modality from each vendor's ``response.done``, and what a session costs at
the vendor's list prices (USD per 1M tokens for OpenAI and Azure; $0.05 per minute of
audio for xAI, which reports no tokens), as the gateway's meter charges it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rtcore.keys.usage import Meter
from rtcore.provider import messages as n
from rtcore.testing import Driver
from rtcore_openai_emulator import OpenAIRealtimeEmulator, silence_pcm, utterance_pcm
from rtcore_openai_realtime.provider import OpenAIRealtimeProvider
from tests.openai_upstream.conftest import opened

RATE = 24000
# USD per 1M tokens: text in, text out, audio in, audio out (developers.openai.com model
# pages, 2026-12).
LIST_PRICES = {
    ("openai", "gpt-realtime-2"): (4.00, 24.00, 32.00, 64.00),
    ("openai", "gpt-realtime-mini"): (0.60, 2.40, 10.00, 20.00),
    # An Azure deployment of gpt-realtime (model_info.base_model), at OpenAI's prices.
    ("azure", "my-realtime"): (4.00, 16.00, 32.00, 64.00),
}


async def _spoken_turn(driver: Driver) -> tuple[n.ResponseDone, int]:
    pcm = utterance_pcm(1, sample_rate=RATE) + silence_pcm(0.5, RATE)
    for i in range(0, len(pcm), 4800):
        await driver.send(n.AppendAudio(pcm=pcm[i : i + 4800]))
    await driver.wait(lambda: bool(driver.of(n.ResponseStarted)), 30)
    done = await driver.wait_done(driver.of(n.ResponseStarted)[0].response_id, 30)
    return done, len(pcm)


def _metered(provider: OpenAIRealtimeProvider, usage: n.Usage, audio_bytes: int) -> Meter:
    prices = provider.capabilities.prices
    assert prices is not None
    meter = Meter(prices)
    meter.input_rate = RATE
    meter.audio_in(audio_bytes)
    meter.add_usage(usage)
    return meter


@pytest.mark.parametrize(("vendor", "model"), list(LIST_PRICES))
async def test_token_usage_is_charged_at_the_list_prices(
    make_provider: Callable[..., OpenAIRealtimeProvider],
    emulator: OpenAIRealtimeEmulator,
    vendor: str,
    model: str,
) -> None:
    provider = make_provider(vendor, model=model)
    async with opened(provider) as session:
        driver = Driver(session)
        done, sent = await _spoken_turn(driver)
    usage = done.usage
    assert done.status == "completed"
    assert usage.input_audio_tokens > 0
    assert usage.output_audio_tokens > 0
    assert usage.output_text_tokens > 0
    text_in, text_out, audio_in, audio_out = LIST_PRICES[(vendor, model)]
    expected = (
        usage.input_text_tokens * text_in
        + usage.output_text_tokens * text_out
        + usage.input_audio_tokens * audio_in
        + usage.output_audio_tokens * audio_out
    ) / 1_000_000
    # Metered audio is not what OpenAI bills: tokens are.
    assert _metered(provider, usage, sent).spend == pytest.approx(expected, rel=1e-12)


async def test_xai_is_charged_per_minute_of_audio(
    make_provider: Callable[..., OpenAIRealtimeProvider], emulator: OpenAIRealtimeEmulator
) -> None:
    provider = make_provider("xai")
    async with opened(provider) as session:
        driver = Driver(session)
        done, sent = await _spoken_turn(driver)
    assert done.status == "completed"
    minutes = sent / 2 / RATE / 60
    assert _metered(provider, done.usage, sent).spend == pytest.approx(0.05 * minutes, rel=1e-12)


async def test_an_unknown_azure_deployment_is_not_charged(
    make_provider: Callable[..., OpenAIRealtimeProvider],
) -> None:
    provider = make_provider("azure", info={"base_model": "some-other-model"})
    assert provider.capabilities.prices is None
