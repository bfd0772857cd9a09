"""rtcore hooks of the OpenAI Realtime emulator: ``rtcore openai-emulator`` and, under
``rtcore serve --emulator``, the emulator in-process for the OpenAI-protocol models (OpenAI,
Azure OpenAI, xAI).

Only the command's options are imported here: the emulator itself loads when one of the two
is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from rtcore.hookspecs import hookimpl
from rtcore.plugin_commands import CommandSpec
from rtcore_openai_emulator import cli

if TYPE_CHECKING:
    from rtcore.serve_settings import ServeSettings


@hookimpl
def rtcore_register_commands() -> Sequence[CommandSpec]:
    return [
        CommandSpec(
            name="openai-emulator",
            help="run the local OpenAI Realtime (OpenAI, Azure OpenAI, xAI) emulator",
            configure=cli.configure,
            run=cli.run,
        )
    ]


@hookimpl
def rtcore_serve_lifespan(settings: ServeSettings) -> AbstractAsyncContextManager[None] | None:
    # --emulator is the core's flag: each emulator plugin takes its own provider's models.
    if not getattr(settings.args, "emulator", False):
        return None
    from rtcore_openai_emulator.in_process import PROVIDERS, run_emulator

    if not any(m.provider in PROVIDERS for m in settings.models):
        return None
    return run_emulator(settings)
