"""Model lifecycle: Nova Sonic v1 reached its end of life on 2026-09-14. A config naming it
is served by its successor, Nova 2 Sonic, with a warning; ``model_info.use_successor: false``
sends the id as written, and when Bedrock then ends the stream without a word the client
hears why. Against an emulator of today's Bedrock (retired models end their streams)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from rtcore.provider import ModelConfig
from rtcore.provider import messages as n
from rtcore_bedrock_sonic.provider import SonicProvider
from rtcore_sonic_emulator import NovaSonicEmulator
from tests.bedrock.conftest import V1, V2, Driver, emulated_params
from tests.bedrock.socket_turn import typed_turn
from tests.transports.process import Served


@pytest.fixture
async def today(cert_dir: Path) -> AsyncIterator[NovaSonicEmulator]:
    async with NovaSonicEmulator(cert_dir=cert_dir, realtime_factor=0.0) as emu:
        yield emu


def sonic(emu: NovaSonicEmulator, model: str, **info: object) -> SonicProvider:
    return SonicProvider(
        ModelConfig(
            name="voice",
            provider="bedrock-sonic",
            model=model,
            params=emulated_params(emu),
            info=info,
        )
    )


async def text_turn(provider: SonicProvider) -> Driver:
    driver = Driver(await provider.open_session(n.SessionConfig(model=V1)))
    await driver.send(
        n.AddItem(item=n.Message(id="i1", role="user", text="Hello!")),
        n.CreateResponse(response_id="resp_1"),
    )
    return driver


async def test_a_retired_model_is_served_by_its_successor(
    today: NovaSonicEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="rtcore_bedrock_sonic.provider"):
        provider = sonic(today, V1)
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "model 'voice'" in warning
    assert f"{V1} reached its end of life on 2026-09-14" in warning
    assert f"serving it with its successor {V2}" in warning
    driver = await text_turn(provider)
    (done,) = await driver.wait_done(1)
    assert done.status == "completed"
    assert today.stats.streams[-1].model_id == V2
    assert "Retired" not in today.stats.errors
    await driver.aclose()
    await provider.aclose()


async def test_an_inference_profile_keeps_its_geography(today: NovaSonicEmulator) -> None:
    provider = sonic(today, f"us.{V1}")
    driver = await text_turn(provider)
    await driver.wait_done(1)
    assert today.stats.streams[-1].model_id == f"us.{V2}"
    await driver.aclose()
    await provider.aclose()


async def test_served_as_written_the_client_hears_of_the_retirement(
    today: NovaSonicEmulator,
) -> None:
    provider = sonic(today, V1, use_successor=False)
    driver = await text_turn(provider)
    (done,) = await driver.wait_done(1)
    await driver.wait(lambda: driver.ended)
    assert done.status == "failed"
    assert done.error is not None
    assert done.error.code == "model_retired"
    (fatal,) = driver.of(n.ProviderError)
    assert fatal.fatal
    assert fatal.code == "model_retired"
    assert f"{V1} reached its end of life on 2026-09-14" in fatal.message
    assert f"Its successor is {V2}" in fatal.message
    assert today.stats.errors["Retired"] == 1  # no retries: a new stream cannot help
    await provider.aclose()


def test_use_successor_must_be_true_or_false(today: NovaSonicEmulator) -> None:
    with pytest.raises(ValueError, match="use_successor must be true or false"):
        sonic(today, V1, use_successor="no")


async def test_over_the_socket_a_retired_model_as_written_closes_with_the_reason(
    tmp_path: Path,
) -> None:
    config = {
        "model_list": [
            {
                "model_name": "bedrock-sonic",
                "litellm_params": {"model": f"bedrock/{V1}", "aws_region_name": "us-east-1"},
                "model_info": {"mode": "realtime", "use_successor": False},
            }
        ]
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    async with Served("--config", str(path), "--emulator", env=env) as served:
        turn = await typed_turn(served.url("bedrock-sonic"))
    events, close = turn.events, (turn.close_code, turn.close_reason)
    assert "serving it as written" in served.stderr
    assert "Traceback" not in served.stderr, served.stderr
    (error,) = [e["error"] for e in events if e["type"] == "error"]
    assert error["code"] == "model_retired"
    assert V2 in error["message"]
    done = next(e for e in events if e["type"] == "response.done")
    assert done["response"]["status"] == "failed"
    assert close[0] == 1011
    assert close[1].startswith("model_retired: ")


NEXT = "amazon.nova-3-sonic-v1:0"  # an id rtcore does not know
PROFILE_ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"


@pytest.mark.parametrize("model_id", [NEXT, PROFILE_ARN])
async def test_base_model_gives_an_unknown_id_a_known_behaviour(
    cert_dir: Path, model_id: str
) -> None:
    async with NovaSonicEmulator(
        cert_dir=cert_dir, realtime_factor=0.0, aliases={model_id: V2}
    ) as emu:
        provider = sonic(emu, model_id, base_model=V2)
        assert provider.capabilities.voices == sonic(emu, V2).capabilities.voices
        driver = await text_turn(provider)
        (done,) = await driver.wait_done(1)
        assert done.status == "completed"
        assert emu.stats.streams[-1].model_id == model_id  # sent as written
        await driver.aclose()
        await provider.aclose()


def test_an_unknown_id_without_base_model_says_what_to_set(today: NovaSonicEmulator) -> None:
    with pytest.raises(ValueError, match=r"model_info\.base_model"):
        sonic(today, NEXT)
    with pytest.raises(ValueError, match="is not a model rtcore knows"):
        sonic(today, NEXT, base_model="amazon.nova-9-sonic")


def test_config_files_route_new_sonic_ids_and_profile_arns_to_the_provider() -> None:
    from rtcore_bedrock_sonic.models import accepts

    assert accepts(NEXT)
    assert accepts(PROFILE_ARN)
    assert not accepts("anthropic.claude-3-haiku-20240307-v1:0")


async def test_provider_flag_warns_of_v1_only_when_a_session_asks_for_it(tmp_path: Path) -> None:
    # --provider bedrock-sonic serves Nova 2; v1 is offered under its id, named by nobody:
    # its end of life is told when a session asks for it, once.
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    async with Served("--provider", "bedrock-sonic", "--emulator", env=env) as served:
        turn = await typed_turn(served.url("bedrock-sonic"), until_close=False)
        assert turn.events[-1]["type"] == "response.done"
        assert "end of life" not in served.stderr, served.stderr
        for _ in range(2):
            turn = await typed_turn(served.url(V1), until_close=False)
            assert turn.events[-1]["type"] == "response.done"
    warnings = [line for line in served.lines if "end of life" in line]
    assert len(warnings) == 1, warnings
    assert "WARNING" in warnings[0]
    assert f"model '{V1}': {V1} reached its end of life on 2026-09-14" in warnings[0]
    assert f"serving it with its successor {V2}" in warnings[0]
