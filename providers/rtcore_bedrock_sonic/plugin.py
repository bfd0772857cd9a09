"""rtcore hooks of the Bedrock Nova Sonic plugin.

Nothing heavy is imported here: the AWS SDK loads when a model is first used. The local
emulator (``rtcore emulator``, ``serve --emulator``) is a plugin of its own,
``rtcore_sonic_emulator``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rtcore.hookspecs import hookimpl
from rtcore.provider import ModelConfig, Provider, ProviderSpec
from rtcore_bedrock_sonic import models


def _factory(model: ModelConfig) -> Provider:
    from rtcore_bedrock_sonic.provider import SonicProvider

    return SonicProvider(model)


@hookimpl
def rtcore_register_providers() -> Sequence[ProviderSpec]:
    return [
        ProviderSpec(
            name="bedrock-sonic",
            factory=_factory,
            description="Amazon Bedrock Nova Sonic (speech to speech)",
            default_model=models.V2_ID,  # v1 is retired (models.py)
            models=models.KNOWN_MODELS,
            model_prefixes=("bedrock",),
            accepts=models.accepts,
            model_info_keys=("use_successor", "base_model"),
        )
    ]
