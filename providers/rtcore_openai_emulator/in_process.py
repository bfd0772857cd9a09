"""``rtcore serve --emulator``: the OpenAI Realtime emulator in-process, standing in for
OpenAI, Azure OpenAI and xAI.

Every model of the ``openai-realtime``, ``azure-realtime`` and ``xai-realtime`` providers is
pointed at the emulator's profile for its vendor: ``api_base`` the emulator's URL (OpenAI
``http://127.0.0.1:P/v1``, Azure the resource endpoint ``http://127.0.0.1:P``, xAI
``http://127.0.0.1:P/xai/v1``) and a dummy ``api_key``; whatever would send the client
elsewhere or resolve real credentials is dropped. Each Azure model's deployment is created on
the emulator. Imported only when the switch is given and such a model is configured.
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

VENDOR_OF = {"openai-realtime": "openai", "azure-realtime": "azure", "xai-realtime": "xai"}
PROVIDERS = tuple(VENDOR_OF)
DUMMY_API_KEY = "emulator-api-key-not-a-real-key"
# Options that would send the client elsewhere, or resolve real credentials or trust.
_REPLACED = (
    "api_base",
    "base_url",
    "websocket_base_url",
    "azure_endpoint",
    "api_key",
    "azure_ad_token",
    "azure_ad_token_provider",
    "tenant_id",
    "client_id",
    "client_secret",
    "organization",
    "project",
    "ssl_ca_file",
    "ssl_verify",
)


def emulated_params(
    provider: str, params: Mapping[str, object], api_base: str
) -> dict[str, object]:
    """A model's params with the vendor's endpoint and credentials replaced by the
    emulator's; the rest (the model, session options, ``api_version``) is kept."""
    out = {k: v for k, v in params.items() if k not in _REPLACED}
    out.update(api_base=api_base, api_key=DUMMY_API_KEY)
    return out


def point_at(models: list[ModelConfig], url_for: dict[str, str]) -> list[ModelConfig]:
    """``url_for``: vendor ("openai", "azure", "xai") -> the emulator's ``api_base``."""
    return [
        msgspec.structs.replace(
            m, params=emulated_params(m.provider, m.params, url_for[VENDOR_OF[m.provider]])
        )
        if m.provider in VENDOR_OF
        else m
        for m in models
    ]


def azure_deployments(models: list[ModelConfig]) -> dict[str, str]:
    """Each Azure model's deployment name -> the model it deploys (``model_info.base_model``
    when given, else gpt-realtime)."""
    out = {}
    for m in models:
        if m.provider == "azure-realtime":
            base = m.info.get("base_model")
            out[m.model] = str(base).removeprefix("azure/") if base else "gpt-realtime"
    return out


@asynccontextmanager
async def run_emulator(settings: ServeSettings) -> AsyncIterator[None]:
    names = [m.name for m in settings.models if m.provider in VENDOR_OF]
    if not names:
        yield
        return
    from rtcore_openai_emulator import OpenAIRealtimeEmulator

    async with OpenAIRealtimeEmulator(deployments=azure_deployments(settings.models)) as emulator:
        urls = {vendor: emulator.url_for(vendor) for vendor in ("openai", "azure", "xai")}
        settings.models = point_at(settings.models, urls)
        async with standing_in(
            log,
            names,
            "OpenAI Realtime",
            emulator.base_url,
            instead_of="OpenAI, Azure or xAI",
            account="account",
        ):
            yield
