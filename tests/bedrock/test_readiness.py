"""``/health/readiness`` tells the truth: 503 with the reason while a Bedrock model has no
usable credentials or region, 200 once it has; liveness stays 200 throughout."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.bedrock.conftest import V2
from tests.transports.process import Served

# No credentials anywhere: an empty home, no profiles, no instance metadata.
BARE = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
        "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_REGION_NAME")  # fmt: skip


def bare_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        **dict.fromkeys(BARE, ""),
    }


def config(tmp_path: Path, **params: object) -> Path:
    entry = {"model_name": "voice", "litellm_params": {"model": f"bedrock/{V2}", **params}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"model_list": [entry]}))
    return path


async def probe(served: Served, path: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{served.port}{path}") as response,
    ):
        return response.status, await response.json()


async def settled(served: Served) -> tuple[int, dict[str, Any]]:
    """Readiness once the start-up check has finished (it says 'starting' until then)."""
    async with asyncio.timeout(20):
        while True:
            status, body = await probe(served, "/health/readiness")
            if "starting" not in str(body):
                return status, body
            await asyncio.sleep(0.1)


async def test_no_credentials_is_not_ready_and_says_why(tmp_path: Path) -> None:
    path = config(tmp_path, aws_region_name="us-east-1", credentials_timeout_seconds=2)
    async with Served("--config", str(path), env=bare_env(tmp_path)) as served:
        status, body = await settled(served)
        live = await probe(served, "/health/liveliness")
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["models"]["voice"].startswith("missing_credentials: ")
    assert live == (200, "I'm alive!")


async def test_no_region_is_not_ready_and_says_why(tmp_path: Path) -> None:
    path = config(tmp_path, aws_access_key_id="AKIDREADY", aws_secret_access_key="secret")
    async with Served("--config", str(path), env=bare_env(tmp_path)) as served:
        status, body = await settled(served)
    assert status == 503
    assert body["models"]["voice"].startswith("missing_region: ")
    assert "aws_region_name" in body["models"]["voice"]


def aws_configure(credentials: Path) -> None:
    credentials.write_text(
        "[default]\naws_access_key_id = AKIDLATER\naws_secret_access_key = later-secret\n"
    )


async def test_credentials_that_appear_later_make_it_ready(tmp_path: Path) -> None:
    env = bare_env(tmp_path)
    path = config(tmp_path, aws_region_name="us-east-1", credentials_timeout_seconds=2)
    async with Served("--config", str(path), env=env) as served:
        assert (await settled(served))[0] == 503
        aws_configure(Path(env["AWS_SHARED_CREDENTIALS_FILE"]))  # run meanwhile
        async with asyncio.timeout(20):
            while (await probe(served, "/health/readiness"))[0] != 200:  # noqa: ASYNC110
                await asyncio.sleep(0.5)
        assert await probe(served, "/health/readiness") == (200, {"status": "ok"})


async def test_the_emulator_is_ready(tmp_path: Path) -> None:
    path = config(tmp_path)
    env = {**bare_env(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    async with Served("--config", str(path), "--emulator", env=env) as served:
        assert await settled(served) == (200, {"status": "ok"})
