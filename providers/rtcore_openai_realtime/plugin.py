"""rtcore hooks of the OpenAI Realtime protocol plugin: one provider per vendor that
speaks it (OpenAI, Azure OpenAI, xAI Grok Voice), as LiteLLM's config names them.

Nothing heavy is imported here: the openai SDK loads when a model is first configured.
The local emulator (``serve --emulator``) is a plugin of its own, ``rtcore_openai_emulator``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rtcore.hookspecs import hookimpl
from rtcore.provider import ModelConfig, Provider, ProviderSpec
from rtcore_openai_realtime import models


def _openai(model: ModelConfig) -> Provider:
    from rtcore_openai_realtime.provider import OpenAIRealtimeProvider

    return OpenAIRealtimeProvider(model, "openai")


def _azure(model: ModelConfig) -> Provider:
    from rtcore_openai_realtime.provider import OpenAIRealtimeProvider

    return OpenAIRealtimeProvider(model, "azure")


def _xai(model: ModelConfig) -> Provider:
    from rtcore_openai_realtime.provider import OpenAIRealtimeProvider

    return OpenAIRealtimeProvider(model, "xai")


@hookimpl
def rtcore_register_providers() -> Sequence[ProviderSpec]:
    return [
        ProviderSpec(
            name="openai-realtime",
            factory=_openai,
            description="OpenAI Realtime API (gpt-realtime models)",
            default_model=models.OPENAI_DEFAULT,
            models=models.OPENAI_MODELS,
            model_prefixes=("openai",),
            accepts=models.accepts_openai,
            model_info_keys=(),
        ),
        ProviderSpec(
            name="azure-realtime",
            factory=_azure,
            description="Azure OpenAI Realtime API (a deployment of a gpt-realtime model)",
            default_model=models.AZURE_DEFAULT,
            models=(),
            model_prefixes=("azure",),
            # Any deployment name.
            accepts=lambda _deployment: True,
            # Deployment names are the operator's: without model_info.mode, only one that
            # says "realtime" is taken for a realtime model (the others are chat to LiteLLM).
            realtime_by_id=lambda deployment: "realtime" in deployment.lower(),
            model_info_keys=("base_model",),
        ),
        ProviderSpec(
            name="xai-realtime",
            factory=_xai,
            description="xAI Grok Voice agent API",
            default_model=models.XAI_DEFAULT,
            models=models.XAI_MODELS,
            model_prefixes=("xai",),
            accepts=models.accepts_xai,
            model_info_keys=(),
        ),
    ]
