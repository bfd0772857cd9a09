"""rtcore hooks of the Gemini Live emulator: ``rtcore gemini-emulator`` and, under
``rtcore serve --emulator``, the emulator in-process for the Gemini Live models.

Only the command's options are imported here: the emulator itself (``trustme``, the
``rtcore[emulator]`` extra) loads when one of the two is used, and says how to install it when
it is missing.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from rtcore.hookspecs import hookimpl
from rtcore.plugin_commands import CommandSpec
from rtcore_emulator_kit.hosting import require_extra
from rtcore_gemini_emulator import cli

if TYPE_CHECKING:
    from rtcore.serve_settings import ServeSettings


def _require() -> None:
    require_extra("Gemini Live", "trustme")


def _run(args: argparse.Namespace) -> int:
    _require()
    return cli.run(args)


@hookimpl
def rtcore_register_commands() -> Sequence[CommandSpec]:
    return [
        CommandSpec(
            name="gemini-emulator",
            help="run the local Gemini Live (Gemini API and Vertex AI) emulator",
            configure=cli.configure,
            run=_run,
        )
    ]


@hookimpl
def rtcore_serve_lifespan(settings: ServeSettings) -> AbstractAsyncContextManager[None] | None:
    # --emulator is the core's flag: each emulator plugin takes its own provider's models.
    if not getattr(settings.args, "emulator", False):
        return None
    from rtcore_gemini_emulator.in_process import PROVIDERS

    if not any(m.provider in PROVIDERS for m in settings.models):
        return None
    _require()
    from rtcore_gemini_emulator.in_process import run_emulator

    return run_emulator(settings)
