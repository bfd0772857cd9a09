"""rtcore hooks of the Gemini Live plugin: two providers, one per Google backend.

Nothing heavy is imported here: google-genai loads when a model is first used. The local
emulator (``serve --emulator``) is a plugin of its own, ``rtcore_gemini_emulator``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rtcore.hookspecs import hookimpl
from rtcore.provider import ModelConfig, Provider, ProviderSpec
from rtcore_gemini_live import models


def _gemini(model: ModelConfig) -> Provider:
    from rtcore_gemini_live.provider import GeminiProvider

    return GeminiProvider(model, "gemini")


def _vertex(model: ModelConfig) -> Provider:
    from rtcore_gemini_live.provider import GeminiProvider

    return GeminiProvider(model, "vertex")


@hookimpl
def rtcore_register_providers() -> Sequence[ProviderSpec]:
    return [
        ProviderSpec(
            name="gemini-live",
            factory=_gemini,
            description="Google Gemini Live API (Gemini API key)",
            default_model=models.GEMINI_DEFAULT,
            models=models.GEMINI_MODELS,
            model_prefixes=("gemini",),
            accepts=models.accepts_gemini,
            model_info_keys=(),
        ),
        ProviderSpec(
            name="vertex-ai-live",
            factory=_vertex,
            description="Google Gemini Live API on Vertex AI (Google Cloud credentials)",
            default_model=models.VERTEX_DEFAULT,
            models=models.VERTEX_MODELS,
            model_prefixes=("vertex_ai",),
            accepts=models.accepts_vertex,
            model_info_keys=(),
        ),
    ]
