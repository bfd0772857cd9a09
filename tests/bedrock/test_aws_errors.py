"""AWS errors as users meet them, through the real SDK against the emulator: each one a fatal
``error`` with a code and a message (and a log line) that says what to do, never retried."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from rtcore.provider import messages as n
from rtcore_sonic_emulator import NovaSonicEmulator, utterance_pcm
from tests.bedrock.conftest import V1, V2


async def _fatal_error(driver: Any) -> n.ProviderError:
    await driver.audio(utterance_pcm(0))
    await driver.wait(lambda: driver.ended)
    errors = driver.of(n.ProviderError)
    assert len(errors) == 1, errors
    assert errors[0].fatal
    return errors[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("model", [V1, V2])
async def test_access_denied(
    emulator: NovaSonicEmulator, open_driver: Any, model: str, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.inject("access-denied", connections=5)
    with caplog.at_level(logging.ERROR, logger="rtcore_bedrock_sonic"):
        error = await _fatal_error(await open_driver(model))
    assert error.code == "access_denied"
    assert "bedrock:InvokeModelWithBidirectionalStream" in error.message
    assert "model access" in error.message or "enable access" in error.message
    assert "You don't have access to the model" in error.message  # Bedrock's own words kept
    assert emulator.stats.errors == {"AccessDeniedException": 1}  # not retried
    assert any("access_denied" in r.getMessage() for r in caplog.records)


async def test_region_without_the_model_names_the_regions_that_have_it(
    emulator: NovaSonicEmulator, open_driver: Any, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.inject("no-model", connections=5)
    with caplog.at_level(logging.ERROR, logger="rtcore_bedrock_sonic"):
        error = await _fatal_error(await open_driver(V1, aws_region_name="us-west-2"))
    assert error.code == "model_not_found"
    assert "in us-west-2" in error.message
    for region in ("us-east-1", "eu-north-1", "ap-northeast-1"):
        assert region in error.message
    assert "aws_region_name" in error.message
    assert emulator.stats.errors == {"ValidationException": 1}  # not retried
    assert any("model_not_found" in r.getMessage() for r in caplog.records)


async def test_region_without_nova_2_names_the_model_and_no_other_models_regions(
    emulator: NovaSonicEmulator, open_driver: Any
) -> None:
    emulator.inject("no-model", connections=5)
    error = await _fatal_error(await open_driver(V2, aws_region_name="ca-central-1"))
    assert error.code == "model_not_found"
    assert "amazon.nova-2-sonic-v1:0 in ca-central-1" in error.message
    assert "aws_region_name" in error.message
    # Nova Sonic v1's regions are not Nova 2's to claim.
    assert "eu-north-1" not in error.message


async def test_persistent_throttling_says_what_happened(
    emulator: NovaSonicEmulator, open_driver: Any
) -> None:
    emulator.inject("throttle", connections=10)
    error = await _fatal_error(await open_driver(V2, throttle_attempts=3))
    assert error.code == "rate_limit_exceeded"
    assert "throttling" in error.message
    assert "Too many requests" in error.message
    assert emulator.stats.errors == {"ThrottlingException": 3}  # retried within its bound
