"""Every AWS credential source, resolved as the AWS SDKs do, each proved against the
emulator's signature check: the stream is signed by exactly the credentials that source
handed out. The sources are local stand-ins on loopback (tests/credentials/standins.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.credentials.standins import CONTAINER_TOKEN, SSO_TOKEN, StandIns

Turn = Callable[..., Any]


async def test_keys_in_litellm_params(standins: StandIns, turn: Turn) -> None:
    standins.issue("AKIDPARAMS", "params-secret")
    key = await turn(aws_access_key_id="AKIDPARAMS", aws_secret_access_key="params-secret")
    assert key == "AKIDPARAMS"


async def test_keys_in_the_environment(
    standins: StandIns, turn: Turn, monkeypatch: pytest.MonkeyPatch
) -> None:
    standins.issue("AKIDENVIRON", "environ-secret", "environ-token")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENVIRON")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "environ-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "environ-token")
    assert await turn() == "AKIDENVIRON"


async def test_a_profile_in_the_shared_credentials_file(
    standins: StandIns, turn: Turn, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    standins.issue("AKIDPROFILE", "profile-secret")
    (home / ".aws" / "credentials").write_text(
        "[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = wrong\n"
        "[dev]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert await turn() == "AKIDPROFILE"
    # ... or named in the model's params
    monkeypatch.delenv("AWS_PROFILE")
    assert await turn(aws_profile_name="dev") == "AKIDPROFILE"


async def test_a_profile_that_assumes_a_role(standins: StandIns, turn: Turn, home: Path) -> None:
    standins.issue("AKIDSOURCE", "source-secret")
    (home / ".aws" / "config").write_text(
        "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/voice\n"
        "source_profile = base\nrole_session_name = voice-session\n"
        "[profile base]\naws_access_key_id = AKIDSOURCE\naws_secret_access_key = source-secret\n"
    )
    key = await turn(aws_profile_name="deploy")
    (call,) = standins.of("sts")
    assert call.fields["Action"] == "AssumeRole"
    assert call.fields["RoleArn"] == "arn:aws:iam::123456789012:role/voice"
    assert call.signed_by == "AKIDSOURCE"  # assumed with the source profile's keys
    assert key == call.issued


def sso_login(home: Path, cache_key: str, *, expires: str = "2099-01-01T00:00:00Z") -> None:
    """What `aws sso login` leaves behind: the access token, cached under the SHA-1 of the
    sso-session's name (or a legacy profile's start URL)."""
    import hashlib
    import json

    cache = home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1(cache_key.encode()).hexdigest()
    token = {"accessToken": SSO_TOKEN, "expiresAt": expires, "region": "us-east-1"}
    (cache / f"{name}.json").write_text(json.dumps(token))


SSO_CONFIG = """\
[profile sso-dev]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = VoiceRole
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
[profile sso-legacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-1
sso_account_id = 210987654321
sso_role_name = LegacyRole
"""


@pytest.mark.parametrize(
    ("profile", "cache_key", "account", "role"),
    [
        ("sso-dev", "corp", "123456789012", "VoiceRole"),
        ("sso-legacy", "https://legacy.awsapps.com/start", "210987654321", "LegacyRole"),
    ],
)
async def test_an_sso_profile(
    standins: StandIns,
    turn: Turn,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    profile: str,
    cache_key: str,
    account: str,
    role: str,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", standins.base)
    (home / ".aws" / "config").write_text(SSO_CONFIG)
    sso_login(home, cache_key)
    key = await turn(aws_profile_name=profile)
    (call,) = standins.of("sso")
    assert call.fields == {"account_id": account, "role_name": role}
    assert key == call.issued


async def test_an_sso_profile_whose_login_expired_says_to_log_in(
    standins: StandIns, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtcore.provider import ModelConfig, ProviderUnavailable
    from rtcore_bedrock_sonic.provider import SonicProvider
    from tests.bedrock.conftest import V2

    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", standins.base)
    (home / ".aws" / "config").write_text(SSO_CONFIG)
    sso_login(home, "corp", expires="2026-01-01T00:00:00Z")
    params = {"aws_region_name": "us-east-1", "aws_profile_name": "sso-dev"}
    provider = SonicProvider(
        ModelConfig(name="v", provider="bedrock-sonic", model=V2, params=params)
    )
    with pytest.raises(ProviderUnavailable) as refused:
        await provider.warm_up()
    assert refused.value.code == "missing_credentials"
    assert "aws sso login --profile sso-dev" in refused.value.message
    assert standins.of("sso") == []


async def test_web_identity_from_the_environment_eks_irsa(
    standins: StandIns, turn: Turn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    token.write_text("eyJ-projected-service-account-token\n")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa")
    monkeypatch.setenv("AWS_ROLE_SESSION_NAME", "pod-1")
    key = await turn()
    (call,) = standins.of("sts")
    assert call.fields["Action"] == "AssumeRoleWithWebIdentity"
    assert call.fields["WebIdentityToken"] == "eyJ-projected-service-account-token"
    assert call.fields["RoleArn"] == "arn:aws:iam::123456789012:role/irsa"
    assert call.fields["RoleSessionName"] == "pod-1"
    assert call.signed_by is None  # this call is unsigned
    assert key == call.issued


async def test_container_credentials_ecs_and_eks_pod_identity(
    standins: StandIns, turn: Turn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{standins.base}/container/credentials"
    )
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", CONTAINER_TOKEN)
    key = await turn()
    (call,) = standins.of("container")
    assert key == call.issued


async def test_ec2_instance_metadata_imdsv2(
    standins: StandIns, turn: Turn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", standins.base)
    key = await turn()
    (call,) = standins.of("imds")
    assert key == call.issued


async def test_aws_role_name_assumes_a_role_with_what_was_found(
    standins: StandIns, turn: Turn
) -> None:
    standins.issue("AKIDBASE", "base-secret")
    key = await turn(
        aws_access_key_id="AKIDBASE",
        aws_secret_access_key="base-secret",
        aws_role_name="arn:aws:iam::123456789012:role/litellm",
        aws_session_name="rtcore-voice",
    )
    (call,) = standins.of("sts")
    assert call.fields["Action"] == "AssumeRole"
    assert call.fields["RoleArn"] == "arn:aws:iam::123456789012:role/litellm"
    assert call.fields["RoleSessionName"] == "rtcore-voice"
    assert call.signed_by == "AKIDBASE"
    assert key == call.issued


async def test_aws_web_identity_token_with_aws_role_name(standins: StandIns, turn: Turn) -> None:
    key = await turn(
        aws_web_identity_token="oidc-token-value",
        aws_role_name="arn:aws:iam::123456789012:role/oidc",
        aws_session_name="rtcore-oidc",
    )
    (call,) = standins.of("sts")
    assert call.fields["Action"] == "AssumeRoleWithWebIdentity"
    assert call.fields["WebIdentityToken"] == "oidc-token-value"
    assert key == call.issued


async def test_aws_sts_endpoint_names_where_sts_is(
    standins: StandIns, turn: Turn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_STS")
    standins.issue("AKIDBASE", "base-secret")
    key = await turn(
        aws_access_key_id="AKIDBASE",
        aws_secret_access_key="base-secret",
        aws_role_name="arn:aws:iam::123456789012:role/litellm",
        aws_sts_endpoint=f"{standins.base}/sts/",
    )
    assert key == standins.of("sts")[0].issued


async def test_temporary_credentials_are_renewed_and_the_stream_retired_before_they_expire(
    standins: StandIns, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import time

    from rtcore.provider import ModelConfig
    from rtcore.provider import messages as n
    from rtcore_bedrock_sonic.provider import SonicProvider
    from tests.bedrock.conftest import FAST, V2, Driver

    standins.ttl_seconds = 8.0  # container credentials that last 8 s
    monkeypatch.setenv(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{standins.base}/container/credentials"
    )
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", CONTAINER_TOKEN)
    params = {
        "aws_region_name": "us-east-1",
        "aws_bedrock_runtime_endpoint": emulator.endpoint,
        "ssl_ca_file": str(emulator.ca_file),
        **FAST,
    }
    provider = SonicProvider(
        ModelConfig(name="voice", provider="bedrock-sonic", model=V2, params=params)
    )
    driver = Driver(await provider.open_session(n.SessionConfig(model=V2)))

    async def ask(number: int) -> None:
        await driver.send(
            n.AddItem(item=n.Message(id=f"i{number}", role="user", text="Hello!")),
            n.CreateResponse(response_id=f"resp_{number}"),
        )
        await driver.wait_done(number, within=15)

    started = time.monotonic()
    await ask(1)
    first_key = emulator.stats.signed_by[-1]
    async with asyncio.timeout(15):
        while len(emulator.stats.signed_by) < 2:  # noqa: ASYNC110 - the emulator's record
            await asyncio.sleep(0.1)
    replaced_after = time.monotonic() - started
    await ask(2)
    await driver.aclose()
    await provider.aclose()
    first, second = standins.of("container")[:2]
    assert first_key == first.issued
    # The stream was replaced by one signed with fresh credentials, before the first
    # ones expired (8 s), and the conversation went on on it.
    assert emulator.stats.signed_by[1] == second.issued != first.issued
    assert replaced_after < 8.0
    assert [d.status for d in driver.of(n.ResponseDone)] == ["completed", "completed"]
