"""A plugin for the CLI tests, "installed" by putting this folder on PYTHONPATH (its
dist-info declares the entry points). It adds a subcommand, a serve option and a lifespan;
the dist-info also declares a broken entry point."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import rtcore
from rtcore.plugin_commands import CommandSpec
from rtcore.provider import ModelConfig
from rtcore.serve_settings import ServeSettings


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", default="world")


def _run(args: argparse.Namespace) -> int:
    print(f"hello {args.name}")
    return 3


@rtcore.hookimpl
def rtcore_register_commands() -> Sequence[CommandSpec]:
    return [CommandSpec(name="hello", help="say hello", configure=_configure, run=_run)]


@rtcore.hookimpl
def rtcore_add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sample-alias", metavar="NAME", help="serve echo-1 under NAME too")


@asynccontextmanager
async def _alias(settings: ServeSettings, name: str) -> AsyncIterator[None]:
    settings.models.append(ModelConfig(name=name, provider="echo", model="echo-1"))
    print(f"sample lifespan entered: {name}", file=sys.stderr, flush=True)
    yield
    print("sample lifespan exited", file=sys.stderr, flush=True)


@rtcore.hookimpl
def rtcore_serve_lifespan(settings: ServeSettings) -> AbstractAsyncContextManager[None] | None:
    name = settings.args.sample_alias
    return _alias(settings, name) if name else None
