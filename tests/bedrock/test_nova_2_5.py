"""Nova 2.5 Sonic (``amazon.nova-2-5-sonic``) is a model rtcore knows: a config names it
without ``model_info.base_model``, ``--provider bedrock-sonic`` offers it, and a session on
it answers over the real SDK against the emulator. The provider contract runs on it too
(test_contract.py)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from rtcore.provider import ModelConfig
from rtcore_bedrock_sonic.models import KNOWN_MODELS, accepts, profile_for
from rtcore_bedrock_sonic.provider import SonicProvider
from rtcore_sonic_emulator import NovaSonicEmulator, utterance_pcm
from tests.bedrock.conftest import V2, V2_5, emulated_params
from tests.bedrock.socket_turn import typed_turn
from tests.transports.process import Served

PRICE_WARNING = "AWS has published no price for amazon.nova-2-5-sonic"


def test_the_model_table_knows_it_with_nova_2s_behaviour() -> None:
    assert V2_5 in KNOWN_MODELS
    assert accepts(V2_5)
    assert accepts(f"us.{V2_5}")
    profile, nova2 = profile_for(f"bedrock/{V2_5}"), profile_for(V2)
    assert profile is not None
    assert nova2 is not None
    assert profile.base_id == V2_5
    assert profile_for(f"eu.{V2_5}") == profile
    assert (profile.interactive_text, profile.turn_detection, profile.speech_signals) == (
        True,
        True,
        True,
    )
    assert profile.voices == nova2.voices
    assert profile.regions == ("us-east-1", "us-west-2", "eu-north-1", "ap-northeast-1")
    assert profile.end_of_life is None


def _provider(emu: NovaSonicEmulator, **info: object) -> SonicProvider:
    return SonicProvider(
        ModelConfig(
            name="voice",
            provider="bedrock-sonic",
            model=f"bedrock/{V2_5}",
            params=emulated_params(emu),
            info=info,
        )
    )


async def test_named_without_base_model_it_is_sent_as_written_and_priced_by_the_config(
    emulator: NovaSonicEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="rtcore_bedrock_sonic"):
        unpriced = _provider(emulator)
    (warning,) = [r.getMessage() for r in caplog.records if PRICE_WARNING in r.getMessage()]
    assert "model_info sets input_cost_per_audio_token" in warning
    await unpriced.aclose()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rtcore_bedrock_sonic"):
        priced = _provider(emulator, input_cost_per_audio_token=3e-6)
    assert not [r for r in caplog.records if PRICE_WARNING in r.getMessage()]
    assert priced.capabilities.voices == profile_for(V2).voices  # type: ignore[union-attr]
    await priced.aclose()


async def test_a_spoken_turn_reaches_bedrock_under_its_id(
    emulator: NovaSonicEmulator, open_driver: Any
) -> None:
    driver = await open_driver(V2_5)
    await driver.audio(utterance_pcm(0))
    (done,) = await driver.wait_done(1)
    assert done.status == "completed"
    assert emulator.stats.streams[-1].model_id == V2_5


async def test_a_region_without_it_names_the_regions_that_have_it(
    emulator: NovaSonicEmulator, open_driver: Any
) -> None:
    emulator.inject("no-model", connections=5)
    driver = await open_driver(V2_5, aws_region_name="ca-central-1")
    await driver.audio(utterance_pcm(0))
    await driver.wait(lambda: driver.ended)
    (error,) = [e for e in driver.events if type(e).__name__ == "ProviderError"]
    assert error.code == "model_not_found"
    assert f"{V2_5} in ca-central-1" in error.message
    for region in ("us-east-1", "us-west-2", "eu-north-1", "ap-northeast-1"):
        assert region in error.message


async def test_a_config_naming_it_starts_and_answers(tmp_path: Path) -> None:
    config = {
        "model_list": [
            {
                "model_name": "voice",
                "litellm_params": {"model": f"bedrock/{V2_5}", "aws_region_name": "us-east-1"},
                "model_info": {"mode": "realtime"},
            }
        ]
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_DATA_HOME": str(tmp_path / "data")}
    async with Served("--config", str(path), "--emulator", env=env) as served:
        turn = await typed_turn(served.url("voice"), "Hello!", until_close=False)
    assert not turn.errors(), turn.errors()
    done = turn.events[-1]
    assert done["type"] == "response.done"
    assert done["response"]["status"] == "completed"
    assert "base_model" not in served.stderr
    assert PRICE_WARNING in served.stderr
    assert "Traceback" not in served.stderr, served.stderr


async def test_provider_flag_lists_it_and_serves_it(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_DATA_HOME": str(tmp_path / "data")}
    async with Served("--provider", "bedrock-sonic", "--emulator", env=env) as served:
        url = f"http://127.0.0.1:{served.port}/v1/models"
        async with aiohttp.ClientSession() as http, http.get(url) as reply:
            assert reply.status == 200
            listing = json.loads(await reply.text())
        turn = await typed_turn(served.url(V2_5), until_close=False)
    assert V2_5 in [m["id"] for m in listing["data"]]
    assert turn.events[-1]["type"] == "response.done"
    assert turn.events[-1]["response"]["status"] == "completed"
    # Offered, not named by a config: no start-up warning about its prices.
    assert PRICE_WARNING not in served.stderr
