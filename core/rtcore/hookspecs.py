"""Hook specifications: the doors through which plugins join rtcore.

Every plugin is a module (or object) found through the ``rtcore`` entry-point group and
implements any of these with ``@rtcore.hookimpl``. Hooks are for discovery, configuration and
lifecycle only; audio and events flow through the typed interfaces in ``rtcore.provider``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from rtcore.callbacks import CallbackSpec
    from rtcore.gateway import Gateway
    from rtcore.http import HttpRoute
    from rtcore.keys.usage import SessionRecord
    from rtcore.plugin_commands import CommandSpec
    from rtcore.provider import ProviderSpec
    from rtcore.serve_settings import ServeSettings
    from rtcore.transport import TransportSpec

hookspec = pluggy.HookspecMarker("rtcore")
hookimpl = pluggy.HookimplMarker("rtcore")


class RtcoreSpecs:
    @hookspec
    def rtcore_register_providers(self) -> Sequence[ProviderSpec]:
        """Return the providers this plugin offers.

        Example::

            @rtcore.hookimpl
            def rtcore_register_providers():
                return [ProviderSpec(name="echo", factory=EchoProvider, default_model="echo-1")]
        """
        raise NotImplementedError

    @hookspec
    def rtcore_register_transports(self) -> Sequence[TransportSpec]:
        """Return the transports this plugin offers (``rtcore serve --transport NAME``).

        Example::

            @rtcore.hookimpl
            def rtcore_register_transports():
                return [TransportSpec(name="stdio", serve=serve_stdio)]
        """
        raise NotImplementedError

    @hookspec
    def rtcore_register_callbacks(self) -> Sequence[CallbackSpec]:
        """Return the logging callbacks this plugin offers, by the name a config's
        ``litellm_settings.callbacks`` gives them (``rtcore.callbacks``). A callback runs
        only when the config names it, in every serving process.

        Example::

            @rtcore.hookimpl
            def rtcore_register_callbacks():
                return [CallbackSpec(name="otel", open=open_tracing)]
        """
        raise NotImplementedError

    @hookspec
    def rtcore_register_commands(self) -> Sequence[CommandSpec]:
        """Return extra ``rtcore`` subcommands.

        Example::

            @rtcore.hookimpl
            def rtcore_register_commands():
                return [CommandSpec(name="emulator", help="...", configure=add_args, run=run)]
        """
        raise NotImplementedError

    @hookspec
    def rtcore_add_serve_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add options to ``rtcore serve``.

        Example::

            @rtcore.hookimpl
            def rtcore_add_serve_arguments(parser):
                parser.add_argument("--emulator", action="store_true", help="...")
        """

    @hookspec
    def rtcore_serve_lifespan(
        self, settings: ServeSettings
    ) -> AbstractAsyncContextManager[None] | None:
        """Return an async context manager to run around serving, or None.

        It is entered before the first connection is accepted and may adjust
        ``settings.models`` (for example to point models at a local endpoint); it is exited
        after the last connection closed.

        Example::

            @rtcore.hookimpl
            def rtcore_serve_lifespan(settings):
                if settings.args.emulator:
                    return run_emulator_for(settings)
                return None
        """

    @hookspec
    def rtcore_session_ended(self, record: SessionRecord) -> Awaitable[None] | None:
        """A session is over: what it used (``rtcore.keys.usage.SessionRecord``: key,
        model, start and end, end reason, audio seconds, tokens, spend). For logging sinks
        (Langfuse, S3, OpenTelemetry, ...); called once per session, never on the audio
        path. May return an awaitable, which is awaited; an exception is logged.

        Example::

            @rtcore.hookimpl
            def rtcore_session_ended(record):
                print(record.request_id, record.spend)
        """

    @hookspec
    def rtcore_http_routes(self, gateway: Gateway, settings: ServeSettings) -> Sequence[HttpRoute]:
        """HTTP endpoints to serve beside the realtime WebSocket (``rtcore.http``: neutral
        request and response; the transport that serves HTTP mounts them). Called once per
        serving process, when serving starts. The WebRTC plugin adds
        ``/v1/realtime/calls`` this way.

        Example::

            @rtcore.hookimpl
            def rtcore_http_routes(gateway, settings):
                async def hello(request):
                    return rtcore.http.json_response(200, {"hello": request.remote})

                return [rtcore.http.HttpRoute(method="GET", path="/hello", handle=hello)]
        """
        raise NotImplementedError
