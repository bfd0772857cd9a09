"""Each hook, exercised through the same code paths ``rtcore`` uses."""

from __future__ import annotations

import argparse
import datetime
from collections.abc import AsyncIterator, Awaitable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import cast

import msgspec
import pytest

from rtcore import hookimpl
from rtcore.cli import build_parser
from rtcore.gateway import Gateway
from rtcore.http import HttpRequest, HttpResponse, HttpRoute, json_response
from rtcore.keys.usage import SessionRecord
from rtcore.plugin_commands import CommandSpec
from rtcore.plugins import load_plugins
from rtcore.provider import ModelConfig, ProviderSpec
from rtcore.provider.messages import Usage
from rtcore.serve_command import build_settings, serve
from rtcore.serve_settings import ServeError, ServeSettings
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


class Routes:
    def __init__(self, path: str) -> None:
        self.path = path

    @hookimpl
    def rtcore_http_routes(self, gateway: Gateway, settings: ServeSettings) -> list[HttpRoute]:
        async def handle(request: HttpRequest) -> HttpResponse:
            return json_response(200, {})

        return [HttpRoute(method="GET", path=self.path, handle=handle)]


def test_two_plugins_serving_one_route_is_a_start_error() -> None:
    host = load_plugins(
        entry_points=False, extra_plugins=[("a", Routes("/same")), ("b", Routes("/same"))]
    )
    settings = ServeSettings(args=argparse.Namespace(), models=[])
    with pytest.raises(ServeError, match="serve GET /same"):
        host.http_routes(cast(Gateway, None), settings)
    apart = load_plugins(
        entry_points=False, extra_plugins=[("a", Routes("/a")), ("b", Routes("/b"))]
    )
    assert sorted(r.path for r in apart.http_routes(cast(Gateway, None), settings)) == ["/a", "/b"]


class Ended:
    def __init__(self, name: str, heard: list[str], *, fails: bool, awaits: bool) -> None:
        self.name, self.heard, self.fails, self.awaits = name, heard, fails, awaits

    @hookimpl
    def rtcore_session_ended(self, record: SessionRecord) -> Awaitable[None] | None:
        if not self.awaits:
            self.heard.append(self.name)
            if self.fails:
                raise RuntimeError("sink down")
            return None

        async def later() -> None:
            self.heard.append(self.name)
            if self.fails:
                raise RuntimeError("sink down")

        return later()


async def test_a_failing_session_ended_hook_does_not_keep_the_others_from_the_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    heard: list[str] = []
    plugins = [
        ("sync-ok", Ended("sync-ok", heard, fails=False, awaits=False)),
        ("async-fails", Ended("async-fails", heard, fails=True, awaits=True)),
        ("sync-fails", Ended("sync-fails", heard, fails=True, awaits=False)),
        ("async-ok", Ended("async-ok", heard, fails=False, awaits=True)),
    ]
    host = load_plugins(entry_points=False, extra_plugins=plugins)
    now = datetime.datetime.now(datetime.UTC)
    record = SessionRecord(
        request_id="sess_1",
        key_hash=None,
        key_alias=None,
        model="m",
        model_group="m",
        deployment="m",
        start_time=now,
        end_time=now,
        end_reason="client_closed",
        audio_seconds_in=0.0,
        audio_seconds_out=0.0,
        usage=Usage(),
        spend=0.0,
    )
    await host.session_ended(record)
    # pluggy's order: the last registered first.
    assert heard == ["async-ok", "sync-fails", "async-fails", "sync-ok"]
    failures = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert failures == [
        "plugin 'sync-fails' failed in rtcore_session_ended for sess_1",
        "plugin 'async-fails' failed in rtcore_session_ended for sess_1",
    ]
