"""A clean credentials world per test: no AWS variables, an empty home, no instance
metadata, STS at the stand-in; the emulator checks every stream's signature."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from rtcore.provider import ModelConfig
from rtcore.provider import messages as n
from rtcore_bedrock_sonic.provider import SonicProvider
from rtcore_bedrock_sonic.stream import install_loop_exception_filter
from rtcore_sonic_emulator import NovaSonicEmulator
from tests.bedrock.conftest import FAST, V2, Driver
from tests.credentials.standins import StandIns

AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION",
)  # fmt: skip


@pytest.fixture(scope="session")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("credential-certs")


@pytest.fixture
async def emulator(cert_dir: Path) -> AsyncIterator[NovaSonicEmulator]:
    install_loop_exception_filter(asyncio.get_running_loop())
    async with NovaSonicEmulator(cert_dir=cert_dir, realtime_factor=0.0) as emu:
        yield emu


@pytest.fixture
async def standins(
    emulator: NovaSonicEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[StandIns]:
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    async with StandIns(emulator) as s:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"{s.base}/sts/")
        yield s


@pytest.fixture
def home(standins: StandIns) -> Path:
    import os

    return Path(os.environ["HOME"])


@pytest.fixture
async def turn(emulator: NovaSonicEmulator) -> AsyncIterator[Callable[..., Any]]:
    """``await turn(**params)``: a provider with those params, one text turn; returns the
    access key the stream was signed with."""
    providers: list[SonicProvider] = []

    async def run(**params: object) -> str:
        provider = SonicProvider(
            ModelConfig(
                name="voice",
                provider="bedrock-sonic",
                model=V2,
                params={
                    "aws_region_name": "us-east-1",
                    "aws_bedrock_runtime_endpoint": emulator.endpoint,
                    "ssl_ca_file": str(emulator.ca_file),
                    "credentials_timeout_seconds": 5,
                    **FAST,
                    **params,
                },
            )
        )
        providers.append(provider)
        driver = Driver(await provider.open_session(n.SessionConfig(model=V2)))
        await driver.send(
            n.AddItem(item=n.Message(id="i1", role="user", text="Hello!")),
            n.CreateResponse(response_id="resp_1"),
        )
        (done,) = await driver.wait_done(1)
        assert done.status == "completed", done
        await driver.aclose()
        return emulator.stats.signed_by[-1]

    yield run
    for provider in providers:
        await provider.aclose()
