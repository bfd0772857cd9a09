"""Plugin-provided CLI subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import msgspec


class CommandSpec(msgspec.Struct, frozen=True, kw_only=True):
    """An ``rtcore NAME`` subcommand: ``configure`` adds its arguments, ``run`` executes it
    and returns the process exit code."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
