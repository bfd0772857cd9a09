"""Long sessions, every emulator fault, and AWS configuration errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rtcore.provider import ModelConfig, ProviderUnavailable
from rtcore.provider import messages as n
from rtcore_bedrock_sonic.provider import SonicProvider
from rtcore_sonic_emulator import NovaSonicEmulator, silence_pcm, utterance_pcm
from tests.bedrock.conftest import LEGACY, V1, V2


async def test_session_outlives_connection_limit_three_times(
    emulator: NovaSonicEmulator, open_driver: Any
) -> None:
    emulator.connection_limit = 1.5
    driver = await open_driver(
        V2, rotate_after_seconds=0.5, connection_limit_seconds=1.5, stall_timeout_seconds=5
    )
    turns = 6
    for turn in range(turns):
        await driver.audio(utterance_pcm(turn % 5, trail_silence=1.8))
        try:
            await driver.wait_done(turn + 1)
        except TimeoutError:
            raise AssertionError(
                f"turn {turn}: {[type(e).__name__ for e in driver.events]} {emulator.stats}"
            ) from None
        await asyncio.sleep(0.6)  # idle time: the stream ages past its rotation point
    # 6 turns over > 4.5 s of a 1.5 s connection limit: at least three rotations
    assert emulator.stats.opened >= 4
    assert [d.status for d in driver.of(n.ResponseDone)] == ["completed"] * turns, [
        (type(e).__name__, getattr(e, "text", getattr(e, "status", "")))
        for e in driver.events
        if not isinstance(e, n.AudioDelta)
    ]
    assert not driver.of(n.ProviderError)
    assert len(driver.of(n.InputTranscript)) == turns


@pytest.mark.parametrize(
    "fault", ["stream-error", "unavailable", "rst531", "internal", "timeout", "reset"]
)
async def test_mid_response_fault_is_recovered(
    emulator: NovaSonicEmulator, open_driver: Any, fault: str
) -> None:
    emulator.inject(f"{fault}@1")
    driver = await open_driver(V2)
    await driver.audio(utterance_pcm(0))
    dones = await driver.wait_done(1)
    assert dones[0].status == "failed"  # the broken reply ends; no error reaches the client
    await driver.audio(silence_pcm(0.2) + utterance_pcm(3))
    dones = await driver.wait_done(2)
    assert dones[1].status == "completed"
    assert not driver.of(n.ProviderError)
    assert emulator.stats.opened == 2


async def test_stalled_stream_is_detected_and_replaced(
    emulator: NovaSonicEmulator, open_driver: Any
) -> None:
    emulator.inject("stall@1")
    driver = await open_driver(V2, stall_timeout_seconds=0.5)
    await driver.audio(utterance_pcm(0))
    dones = await driver.wait_done(1)
    assert dones[0].status == "failed"
    await driver.audio(utterance_pcm(3))
    assert (await driver.wait_done(2))[1].status == "completed"


async def test_speech_sent_to_a_stalled_stream_is_replayed(
    emulator: NovaSonicEmulator, open_driver: Any
) -> None:
    emulator.inject("stall@1")
    driver = await open_driver(V2, stall_timeout_seconds=1.0)
    await driver.audio(utterance_pcm(0))
    await driver.wait(lambda: bool(driver.of(n.ResponseStarted)))  # then it stalls
    # The user speaks on while the stream says nothing more; nobody repeats it later.
    await driver.audio(silence_pcm(0.2) + utterance_pcm(3) + silence_pcm(0.5))
    dones = await driver.wait_done(2, within=15)
    assert [d.status for d in dones] == ["failed", "completed"]
    assert driver.of(n.InputTranscript)[-1].text == "Thank you, goodbye."
    assert emulator.stats.opened == 2


async def test_throttling_at_open_is_retried(emulator: NovaSonicEmulator, open_driver: Any) -> None:
    emulator.inject("throttle", connections=2)
    driver = await open_driver(V1)
    await driver.audio(utterance_pcm(0))
    assert (await driver.wait_done(1))[0].status == "completed"
    assert emulator.stats.opened >= 1


async def test_persistent_throttling_is_reported(
    emulator: NovaSonicEmulator, open_driver: Any
) -> None:
    emulator.inject("throttle", connections=10)
    driver = await open_driver(V1, throttle_attempts=2)
    await driver.audio(utterance_pcm(0))
    await driver.wait(lambda: driver.ended)
    errors = driver.of(n.ProviderError)
    assert errors
    assert errors[0].fatal
    assert errors[0].code == "rate_limit_exceeded"
    assert emulator.stats.errors["ThrottlingException"] == 2


async def test_unknown_model_is_a_clear_fatal_error(open_driver: Any) -> None:
    driver = await open_driver("amazon.nova-sonic-v1:0~bogus")
    await driver.audio(utterance_pcm(0))
    await driver.wait(lambda: driver.ended)
    errors = driver.of(n.ProviderError)
    assert errors
    assert errors[0].fatal
    assert "Bedrock" in errors[0].message


def _provider(params: dict[str, object], model: str = V1) -> SonicProvider:
    return SonicProvider(
        ModelConfig(name="m", provider="bedrock-sonic", model=model, params=params, info=LEGACY)
    )


async def test_missing_credentials_say_what_to_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    provider = _provider({"aws_region_name": "us-east-1", "credentials_timeout_seconds": 2})
    with pytest.raises(ProviderUnavailable) as info:
        await provider.open_session(n.SessionConfig(model=V1))
    assert info.value.code == "missing_credentials"
    assert "AWS_ACCESS_KEY_ID" in info.value.message
    assert "aws configure" in info.value.message


async def test_missing_region_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_REGION_NAME", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    provider = _provider({"aws_access_key_id": "AKID", "aws_secret_access_key": "s"})
    with pytest.raises(ProviderUnavailable) as info:
        await provider.open_session(n.SessionConfig(model=V1))
    assert info.value.code == "missing_region"
    assert "AWS_REGION" in info.value.message


def test_region_and_endpoint_sources() -> None:
    from rtcore_bedrock_sonic.aws import settings_from

    env = {"AWS_REGION_NAME": "eu-north-1"}
    assert settings_from({}, env).region == "eu-north-1"
    assert settings_from({"aws_region_name": "us-east-1"}, env).region == "us-east-1"
    assert settings_from({"api_base": "https://x"}, env).endpoint == "https://x"
    secret = settings_from({"aws_access_key_id": "AKIDSECRET", "aws_secret_access_key": "shh"}, env)
    assert "AKIDSECRET" not in repr(secret)
    assert "shh" not in repr(secret)
    with pytest.raises(ProviderUnavailable):
        settings_from({"aws_access_key_id": "only-one"}, env)


def test_every_supervisor_setting_is_a_provider_option() -> None:
    from rtcore.kit import SupervisorPolicy
    from rtcore_bedrock_sonic.options import SessionOptions

    # None may fall back to the kit's default unseen: each is a documented model option.
    derived = {"max_backlog_bytes"}
    assert set(SupervisorPolicy.__struct_fields__) - derived <= set(
        SessionOptions.__struct_fields__
    )
    policy = SessionOptions(rotate_after_seconds=7.0, max_backlog_seconds=2.0).policy(16000)
    assert policy.rotate_after_seconds == 7.0
    assert policy.max_backlog_bytes == 64000
