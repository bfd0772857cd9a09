"""rtcore hooks of the Gemini Live emulator: ``rtcore gemini-emulator`` and, under
``rtcore serve --emulator``, the emulator in-process for the Gemini Live models.

Only ``argparse`` is imported here: the emulator itself (``trustme``, the ``rtcore[emulator]``
extra) loads when one of the two is used, and says how to install it when it is missing.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rtcore.hookspecs import hookimpl
from rtcore.plugin_commands import CommandSpec

if TYPE_CHECKING:
    pass

INSTALL_HINT = (
    "the Gemini Live emulator needs its extra dependencies: pip install 'rtcore[emulator]'"
)


def _require() -> None:
    try:
        import trustme  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"rtcore: {INSTALL_HINT} ({exc.name} is missing)") from None


def _configure(parser: argparse.ArgumentParser) -> None:
    from rtcore_gemini_emulator import cli

    cli.configure(parser)


def _run(args: argparse.Namespace) -> int:
    _require()
    from rtcore_gemini_emulator import cli

    return cli.run(args)


@hookimpl
def rtcore_register_commands() -> Sequence[CommandSpec]:
    return [
        CommandSpec(
            name="gemini-emulator",
            help="run the local Gemini Live (Gemini API and Vertex AI) emulator",
            configure=_configure,
            run=_run,
        )
    ]
