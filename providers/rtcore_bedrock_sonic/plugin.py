"""rtcore hooks of the Bedrock Nova Sonic plugin.

Nothing heavy is imported here: the AWS SDK loads when a model is first used.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from rtcore.commands import CommandSpec
from rtcore.hookspecs import hookimpl
from rtcore.provider import ModelConfig, Provider, ProviderSpec
from rtcore_bedrock_sonic import models

if TYPE_CHECKING:
    from rtcore.serving import ServeSettings


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
            default_model=models.V1_ID,
            models=models.KNOWN_MODELS,
            model_prefixes=("bedrock",),
            accepts=models.accepts,
        )
    ]


def _emulator_configure(parser: argparse.ArgumentParser) -> None:
    from rtcore_bedrock_sonic.emulator import cli

    cli.configure(parser)


def _emulator_run(args: argparse.Namespace) -> int:
    from rtcore_bedrock_sonic.emulator import cli

    return cli.run(args)


@hookimpl
def rtcore_register_commands() -> Sequence[CommandSpec]:
    return [
        CommandSpec(
            name="emulator",
            help="run the local Nova Sonic (Bedrock) emulator",
            configure=_emulator_configure,
            run=_emulator_run,
        )
    ]


@hookimpl
def rtcore_add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="answer every Bedrock Nova Sonic model from the built-in emulator, in-process "
        "(no AWS account needed; replies are synthetic)",
    )


@hookimpl
def rtcore_serve_lifespan(settings: ServeSettings) -> AbstractAsyncContextManager[None] | None:
    if not getattr(settings.args, "emulator", False):
        return None
    from rtcore_bedrock_sonic.embedded import run_emulator

    return run_emulator(settings)
