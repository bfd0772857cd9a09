"""``rtcore serve --emulator``: the Nova Sonic emulator in-process, standing in for Bedrock.

Every model served by this provider is pointed at the emulator's endpoint, with dummy
credentials and trust for the emulator's own CA given per model (``ssl_ca_file``), so the
process environment (``SSL_CERT_FILE``, ``AWS_*``) is left alone. Imported only when the
switch is given: the emulator pulls in ``h2`` and ``trustme``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import msgspec

from rtcore.provider import ModelConfig
from rtcore.serve_settings import ServeSettings
from rtcore_emulator_kit.hosting import standing_in

log = logging.getLogger(__name__)

PROVIDER = "bedrock-sonic"
DUMMY_KEY_ID = "AKIAEMULATOREXAMPLE"
DUMMY_SECRET = "emulator-secret-not-a-real-key"
DEFAULT_REGION = "us-east-1"
# Options that would send the client elsewhere, or resolve real credentials, trust or a
# profile that may not exist on a machine without AWS.
_REPLACED = (
    "api_base",
    "aws_bedrock_runtime_endpoint",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_profile_name",
    "aws_ca_bundle",
    "ssl_ca_file",
)


def emulated_params(params: Mapping[str, object], endpoint: str, ca_file: str) -> dict[str, object]:
    """A model's params with AWS access replaced by the emulator's; the rest (region,
    session options such as ``rotate_after_seconds``) is kept."""
    out = {k: v for k, v in params.items() if k not in _REPLACED}
    out.setdefault("aws_region_name", DEFAULT_REGION)
    out.update(
        aws_bedrock_runtime_endpoint=endpoint,
        ssl_ca_file=ca_file,
        aws_access_key_id=DUMMY_KEY_ID,
        aws_secret_access_key=DUMMY_SECRET,
    )
    return out


def point_at(models: list[ModelConfig], endpoint: str, ca_file: str) -> list[ModelConfig]:
    return [
        msgspec.structs.replace(m, params=emulated_params(m.params, endpoint, ca_file))
        if m.provider == PROVIDER
        else m
        for m in models
    ]


@asynccontextmanager
async def run_emulator(settings: ServeSettings) -> AsyncIterator[None]:
    names = [m.name for m in settings.models if m.provider == PROVIDER]
    if not names:
        log.warning("--emulator: no %s model is configured, so nothing is emulated", PROVIDER)
        yield
        return
    from rtcore_sonic_emulator import NovaSonicEmulator

    async with NovaSonicEmulator() as emulator:
        settings.models = point_at(settings.models, emulator.endpoint, str(emulator.ca_file))
        async with standing_in(
            log,
            names,
            "Nova Sonic",
            emulator.endpoint,
            instead_of="Amazon Bedrock",
            account="AWS account",
        ):
            yield
