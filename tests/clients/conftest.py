"""Real clients against ``rtcore serve --provider echo``: one server per test module, on a
free loopback port, started the way users start it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from rtcore_sonic_emulator import NovaSonicEmulator
from tests.core.test_sdk_shapes import BETA, GA
from tests.transports.process import Served


def validate(event: dict[str, Any], dialect: str) -> None:
    """Raises when the event is not a server event of ``dialect`` or lacks a required
    field, as a strict client would. The SDK's own connection parses leniently (it never
    complains), so this is done on the raw JSON with the SDK's pydantic model for the
    event's type."""
    models = GA if dialect == "ga" else BETA
    assert event["type"] in models, f"{event['type']} is not a {dialect} server event"
    if dialect == "beta" and event["type"].startswith("session."):
        # The beta models enumerate OpenAI's own model names; the beta SDK parses leniently
        # and accepts any name. Everything else is checked (as in tests/core).
        event = {**event, "session": {**event["session"], "model": None}}
    models[event["type"]].model_validate(event)


@asynccontextmanager
async def served_by_emulator(
    tmp_path: Path, model_id: str, env: dict[str, str] | None = None, *extra: str
) -> AsyncIterator[Served]:
    """``rtcore serve --config`` with one model, ``nova``: the Bedrock provider pointed at a
    local Nova Sonic emulator by its config options (docs/providers/bedrock-sonic.md)."""
    async with NovaSonicEmulator(
        cert_dir=tmp_path / "certs", realtime_factor=0.0, legacy_models=True
    ) as emu:
        params = {
            "model": f"bedrock/{model_id}",
            "api_base": emu.endpoint,
            "ssl_ca_file": str(emu.ca_file),
            "aws_access_key_id": "AKIDCLIENTTEST",
            "aws_secret_access_key": "client-test-secret",
            "aws_region_name": "us-east-1",
        }
        # v1 is retired: the clients' v1 runs are the legacy path, v1 served as written
        # by an emulator that still serves it (legacy_models).
        info = {"mode": "realtime", "use_successor": False}
        config = {
            "model_list": [{"model_name": "nova", "litellm_params": params, "model_info": info}]
        }
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        async with Served("--config", str(path), *extra, env=env) as served:
            yield served


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with Served("--provider", "echo") as server:
        yield server
    assert "Traceback" not in server.stderr, server.stderr
