"""Hook specifications: the doors through which plugins join rtcore.

Every plugin is a module (or object) found through the ``rtcore`` entry-point group and
implements any of these with ``@rtcore.hookimpl``. Hooks are for discovery, configuration and
lifecycle only; audio and events flow through the typed interfaces in ``rtcore.provider``.

Each spec below says, as pytest's own hook reference does, its parameters, when rtcore calls
it, and how the results of several plugins combine. pluggy calls implementations in reverse
order of registration (entry points in the order ``importlib.metadata`` lists them); no spec
is ``firstresult``. Spec bodies never run (each raises ``NotImplementedError``); an
implementation that returns None contributes nothing.
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
        """Return the providers this plugin offers (``rtcore.provider.ProviderSpec``).

        :returns: a sequence of specs, possibly empty.

        Called whenever rtcore needs the table of providers: once per command (``rtcore
        serve`` builds every configured model's provider from it; ``rtcore plugins`` lists
        it), in each serving process. Keep it cheap and free of side effects: import the
        provider's SDK in its ``factory``, not here.

        Combined: every plugin's specs, by name. Two plugins registering one name stop
        rtcore with an error naming it (``--disable-plugin NAME`` picks one).

        Example::

            @rtcore.hookimpl
            def rtcore_register_providers():
                return [ProviderSpec(name="echo", factory=EchoProvider, default_model="echo-1")]
        """
        raise NotImplementedError

    @hookspec
    def rtcore_register_transports(self) -> Sequence[TransportSpec]:
        """Return the transports this plugin offers (``rtcore serve --transport NAME``).

        :returns: a sequence of ``rtcore.transport.TransportSpec``, possibly empty.

        Called when ``rtcore serve`` parses its options (the names are its choices) and when
        it starts serving; in each worker of ``--workers N`` too.

        Combined: every plugin's specs, by name; a name registered twice is an error at
        start, as for providers.

        Example::

            @rtcore.hookimpl
            def rtcore_register_transports():
                return [TransportSpec(name="stdio", serve=serve_stdio)]
        """
        raise NotImplementedError

    @hookspec
    def rtcore_register_callbacks(self) -> Sequence[CallbackSpec]:
        """Return the logging callbacks this plugin offers, by the name a config's
        ``litellm_settings.callbacks`` gives them (``rtcore.callbacks.CallbackSpec``).

        :returns: a sequence of specs, possibly empty.

        Called when serving starts, in every serving process; a callback is opened only
        when the config names it (an unknown name is a warning at start).

        Combined: every plugin's specs, by name; a name registered twice is an error at
        start.

        Example::

            @rtcore.hookimpl
            def rtcore_register_callbacks():
                return [CallbackSpec(name="otel", open=open_tracing)]
        """
        raise NotImplementedError

    @hookspec
    def rtcore_register_commands(self) -> Sequence[CommandSpec]:
        """Return extra ``rtcore`` subcommands (``rtcore.plugin_commands.CommandSpec``).

        :returns: a sequence of specs, possibly empty.

        Called once when ``rtcore`` builds its command line, for every invocation: keep the
        imports a command needs inside its ``run``, so that ``rtcore --help`` stays fast.

        Combined: every plugin's commands, by name; a name registered twice is an error.

        Example::

            @rtcore.hookimpl
            def rtcore_register_commands():
                return [CommandSpec(name="emulator", help="...", configure=add_args, run=run)]
        """
        raise NotImplementedError

    @hookspec
    def rtcore_add_serve_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add options to ``rtcore serve``.

        :param parser: the ``serve`` subcommand's parser; add options (or a group) to it.
            Their values reach the other hooks as ``settings.args.NAME``.

        Called once when ``rtcore`` builds its command line, after the core's own options.

        Combined: every plugin adds to the same parser; argparse refuses an option string
        added twice (``rtcore`` then stops with its message).

        Example::

            @rtcore.hookimpl
            def rtcore_add_serve_arguments(parser):
                parser.add_argument("--emulator", action="store_true", help="...")
        """
        raise NotImplementedError

    @hookspec
    def rtcore_serve_lifespan(
        self, settings: ServeSettings
    ) -> AbstractAsyncContextManager[None] | None:
        """Return an async context manager to run around serving, or None.

        :param settings: the serve settings (``rtcore.serve_settings.ServeSettings``); the
            lifespan may replace entries of ``settings.models`` (the emulators point models
            at themselves this way).

        Called once per ``rtcore serve``, in the process that owns the listening socket's
        life: the server itself, or with ``--workers N`` the parent of the workers (not
        the workers). Entered after the configuration is read and before any provider is
        built or connection accepted; exited after the last connection closed.

        Combined: every non-None result is entered, in the order pluggy returns them, and
        exited in reverse; one that raises on entry stops the start, and those entered
        before it are exited.

        Example::

            @rtcore.hookimpl
            def rtcore_serve_lifespan(settings):
                if settings.args.emulator:
                    return run_emulator_for(settings)
                return None
        """
        raise NotImplementedError

    @hookspec
    def rtcore_session_ended(self, record: SessionRecord) -> Awaitable[None] | None:
        """A session is over: what it used.

        :param record: ``rtcore.keys.usage.SessionRecord``: key alias, model, start and end,
            end reason, audio seconds, tokens, spend; never the conversation's text (that
            goes only to the callbacks a config names, ``rtcore_register_callbacks``).

        Called once per session, after its spend is recorded, never on the audio path; in
        the serving process that held the session.

        Combined: each implementation is called in turn; an awaitable one returns is
        awaited before the next implementation's, and an exception (raised or awaited) is
        logged and does not reach the other implementations or the session. Keep it
        short: slow sinks should queue the record and return.

        Example::

            @rtcore.hookimpl
            def rtcore_session_ended(record):
                print(record.request_id, record.spend)
        """
        raise NotImplementedError

    @hookspec
    def rtcore_http_routes(self, gateway: Gateway, settings: ServeSettings) -> Sequence[HttpRoute]:
        """HTTP endpoints to serve beside the realtime WebSocket.

        :param gateway: the serving process's ``rtcore.gateway.Gateway`` (admission,
            models, sessions), for handlers to use.
        :param settings: the serve settings.
        :returns: a sequence of ``rtcore.http.HttpRoute`` (neutral request and response;
            the transport that serves HTTP mounts them, with its CORS policy).

        Called once per serving process, when serving starts, after the providers and the
        key store are ready. The WebRTC plugin adds ``/v1/realtime/calls`` this way.

        Combined: every plugin's routes are served; two routes with one method and path
        (from one plugin or two) stop the start with an error naming them.

        Example::

            @rtcore.hookimpl
            def rtcore_http_routes(gateway, settings):
                async def hello(request):
                    return rtcore.http.json_response(200, {"hello": request.remote})

                return [rtcore.http.HttpRoute(method="GET", path="/hello", handle=hello)]
        """
        raise NotImplementedError
