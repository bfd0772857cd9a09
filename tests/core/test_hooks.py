"""Each hook, exercised through the same code paths ``rtcore`` uses."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import msgspec

from rtcore import hookimpl
from rtcore.cli import build_parser
from rtcore.gateway import Gateway
from rtcore.plugin_commands import CommandSpec
from rtcore.plugins import load_plugins
from rtcore.provider import ModelConfig, ProviderSpec
from rtcore.serve_command import build_settings, serve
from rtcore.serve_settings import ServeSettings
from rtcore.transport import TransportSpec

from .conftest import ScriptedProvider, text_reply


class EverythingPlugin:
    """A plugin implementing every hook, recording what rtcore did with it."""

    def __init__(self) -> None:
        self.record: list[str] = []

    @hookimpl
    def rtcore_register_providers(self) -> list[ProviderSpec]:
        return [
            ProviderSpec(
                name="scripted",
                factory=lambda _m: ScriptedProvider(text_reply),
                default_model="s-1",
            )
        ]

    @hookimpl
    def rtcore_register_transports(self) -> list[TransportSpec]:
        async def serve_once(gateway: Gateway, settings: ServeSettings) -> None:
            self.record.append(f"transport saw models {gateway.model_names}")

        return [TransportSpec(name="once", serve=serve_once)]

    @hookimpl
    def rtcore_register_commands(self) -> list[CommandSpec]:
        def configure(parser: argparse.ArgumentParser) -> None:
            parser.add_argument("--times", type=int, default=1)

        def run(args: argparse.Namespace) -> int:
            self.record.append(f"hello x{args.times}")
            return 0

        return [CommandSpec(name="hello", help="say hello", configure=configure, run=run)]

    @hookimpl
    def rtcore_add_serve_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--extra-model", action="store_true")

    @hookimpl
    def rtcore_serve_lifespan(
        self, settings: ServeSettings
    ) -> AbstractAsyncContextManager[None] | None:
        if not settings.args.extra_model:
            return None

        @asynccontextmanager
        async def lifespan() -> AsyncIterator[None]:
            self.record.append("lifespan entered")
            first = settings.models[0]
            settings.models.append(msgspec.structs.replace(first, name="extra"))
            yield
            self.record.append("lifespan exited")

        return lifespan()


def test_commands_and_serve_arguments_reach_the_parser() -> None:
    plugin = EverythingPlugin()
    host = load_plugins(entry_points=False, extra_plugins=[("everything", plugin)])
    parser = build_parser(host)
    args = parser.parse_args(["hello", "--times", "3"])
    assert args.times == 3
    serve_args = parser.parse_args(["serve", "--provider", "scripted", "--extra-model"])
    assert serve_args.extra_model is True


def test_command_runs_through_its_spec() -> None:
    plugin = EverythingPlugin()
    host = load_plugins(entry_points=False, extra_plugins=[("everything", plugin)])
    spec = host.commands()["hello"]
    parser = argparse.ArgumentParser()
    spec.configure(parser)
    assert spec.run(parser.parse_args(["--times", "2"])) == 0
    assert plugin.record == ["hello x2"]


async def test_lifespan_wraps_serving_and_may_add_models() -> None:
    plugin = EverythingPlugin()
    host = load_plugins(entry_points=False, extra_plugins=[("everything", plugin)])
    parser = build_parser(host)
    args = parser.parse_args(
        ["serve", "--provider", "scripted", "--transport", "once", "--extra-model"]
    )
    settings = build_settings(args, host)
    await serve(settings, host)
    assert plugin.record == [
        "lifespan entered",
        "transport saw models ['extra', 'scripted']",
        "lifespan exited",
    ]


async def test_no_lifespan_when_the_plugin_declines() -> None:
    plugin = EverythingPlugin()
    host = load_plugins(entry_points=False, extra_plugins=[("everything", plugin)])
    args = build_parser(host).parse_args(["serve", "--provider", "scripted", "--transport", "once"])
    await serve(build_settings(args, host), host)
    assert plugin.record == ["transport saw models ['scripted']"]


def test_model_config_names_are_what_clients_ask_for() -> None:
    spec = EverythingPlugin().rtcore_register_providers()[0]
    assert isinstance(
        spec.factory(ModelConfig(name="x", provider="scripted", model="s-1")), ScriptedProvider
    )
