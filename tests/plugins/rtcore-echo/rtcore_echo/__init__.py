"""rtcore-echo: a provider that answers deterministically, for examples and tests.

The module itself is the plugin (entry point ``echo = "rtcore_echo"``): rtcore's plugin
manager registers it and calls the hook below. Nothing runs at import time.
"""

from __future__ import annotations

from collections.abc import Sequence

import rtcore
from rtcore.provider import ProviderSpec
from rtcore_echo.provider import EchoProvider

__all__ = ["EchoProvider", "rtcore_register_providers"]


@rtcore.hookimpl
def rtcore_register_providers() -> Sequence[ProviderSpec]:
    return [
        ProviderSpec(
            name="echo",
            factory=EchoProvider,
            description="Deterministic echo model for examples and tests",
            default_model="echo-1",
            models=("echo-1",),
            # Claims ``litellm_params.model: echo/echo-1`` in a config file.
            model_prefixes=("echo",),
        )
    ]
