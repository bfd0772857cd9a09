"""Finding and loading plugins, and the one typed wrapper over ``pm.hook``.

Every plugin, built-in or third-party, is found through the ``rtcore`` entry-point group.
Nothing happens at import time: callers build a fresh host with ``load_plugins()``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
from collections.abc import Awaitable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Protocol, cast

import msgspec
import pluggy

from rtcore import hookspecs

if TYPE_CHECKING:
    from rtcore.callbacks import CallbackSpec
    from rtcore.gateway import Gateway
    from rtcore.http import HttpRoute
    from rtcore.keys.usage import SessionRecord
    from rtcore.plugin_commands import CommandSpec
    from rtcore.provider import ProviderSpec
    from rtcore.serve_settings import ServeSettings
    from rtcore.transport import TransportSpec

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "rtcore"


class PluginInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    distribution: str
    version: str
    hooks: tuple[str, ...]


class BrokenPlugin(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    distribution: str
    error: str


class DuplicateName(Exception):
    pass


class _Named(Protocol):
    @property
    def name(self) -> str: ...


def _collect[N: _Named](kind: str, batches: Iterable[Sequence[N] | None]) -> dict[str, N]:
    """Flatten hook results into a name-sorted table; two plugins claiming one name is a
    configuration error the user must hear about, not a silent override."""
    table: dict[str, N] = {}
    for batch in batches:
        for spec in batch or ():
            if spec.name in table:
                raise DuplicateName(f"two plugins register a {kind} named {spec.name!r}")
            table[spec.name] = spec
    return dict(sorted(table.items()))


class PluginHost:
    """The loaded plugins, with typed access to each hook."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.broken: list[BrokenPlugin] = []
        self._dists: dict[str, tuple[str, str]] = {}

    def providers(self) -> dict[str, ProviderSpec]:
        return _collect("provider", self.pm.hook.rtcore_register_providers())

    def transports(self) -> dict[str, TransportSpec]:
        return _collect("transport", self.pm.hook.rtcore_register_transports())

    def callbacks(self) -> dict[str, CallbackSpec]:
        return _collect("callback", self.pm.hook.rtcore_register_callbacks())

    def commands(self) -> dict[str, CommandSpec]:
        return _collect("command", self.pm.hook.rtcore_register_commands())

    def add_serve_arguments(self, parser: argparse.ArgumentParser) -> None:
        self.pm.hook.rtcore_add_serve_arguments(parser=parser)

    def serve_lifespans(self, settings: ServeSettings) -> list[AbstractAsyncContextManager[None]]:
        if settings.worker_index is not None:
            return []  # with --workers, lifespans run once, in the parent of the workers
        results = self.pm.hook.rtcore_serve_lifespan(settings=settings)
        return [r for r in results if r is not None]

    def http_routes(self, gateway: Gateway, settings: ServeSettings) -> list[HttpRoute]:
        """Every plugin's routes; one method and path served twice is a start error (which
        would answer is not for rtcore to guess)."""
        from rtcore.serve_settings import ServeError

        routes = [
            route
            for batch in self.pm.hook.rtcore_http_routes(gateway=gateway, settings=settings)
            for route in batch or ()
        ]
        seen: set[tuple[str, str]] = set()
        for route in routes:
            where = (route.method.upper(), route.path)
            if where in seen:
                raise ServeError(f"two plugins' HTTP routes serve {where[0]} {where[1]}")
            seen.add(where)
        return routes

    async def session_ended(self, record: SessionRecord) -> None:
        """Each plugin's ``rtcore_session_ended`` in turn, its awaitable awaited; one that
        fails is logged and the others still hear of the session."""
        for impl in reversed(self.pm.hook.rtcore_session_ended.get_hookimpls()):
            try:
                result = cast("Awaitable[None] | None", impl.function(record=record))
                if result is not None:
                    await result
            except Exception:  # a plugin's failure is its own, never the session's
                log.exception(
                    "plugin %r failed in rtcore_session_ended for %s",
                    impl.plugin_name,
                    record.request_id,
                )

    def info(self) -> list[PluginInfo]:
        rows = []
        for name, plugin in self.pm.list_name_plugin():
            dist, version = self._dists.get(name, ("(registered in process)", ""))
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ()))
            rows.append(PluginInfo(name=name, distribution=dist, version=version, hooks=hooks))
        return sorted(rows, key=lambda r: r.name)

    def registrations(self) -> dict[str, dict[str, list[str]]]:
        """Plugin name -> {"providers"|"transports"|"commands"|"callbacks": names it registers}, for
        ``rtcore plugins``."""
        table: dict[str, dict[str, list[str]]] = {}
        callers = {
            "providers": self.pm.hook.rtcore_register_providers,
            "transports": self.pm.hook.rtcore_register_transports,
            "commands": self.pm.hook.rtcore_register_commands,
            "callbacks": self.pm.hook.rtcore_register_callbacks,
        }
        for kind, caller in callers.items():
            for impl in caller.get_hookimpls():
                specs = cast("Sequence[_Named] | None", impl.function())
                table.setdefault(impl.plugin_name, {})[kind] = [s.name for s in specs or ()]
        return table


def load_plugins(
    *,
    entry_points: bool = True,
    extra_plugins: Iterable[tuple[str, object]] = (),
    disabled: Iterable[str] = (),
) -> PluginHost:
    """Build a fresh plugin host.

    ``disabled`` names entry points to skip (``rtcore --disable-plugin NAME``). A plugin
    that fails to import is logged with its distribution and skipped, so one broken plugin
    does not take the gateway down; ``PluginHost.broken`` keeps the list.
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs.RtcoreSpecs)
    host = PluginHost(pm)
    skip = set(disabled)
    if entry_points:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in skip or pm.has_plugin(ep.name):
                continue
            dist = ep.dist.name if ep.dist is not None else "unknown distribution"
            version = ep.dist.version if ep.dist is not None else ""
            try:
                plugin = ep.load()
            except Exception as exc:  # third-party import code can raise anything
                error = f"{type(exc).__name__}: {exc}"
                log.warning("plugin %r from %s failed to load: %s", ep.name, dist, error)
                host.broken.append(BrokenPlugin(name=ep.name, distribution=dist, error=error))
                continue
            pm.register(plugin, name=ep.name)
            host._dists[ep.name] = (dist, version)
    for name, plugin in extra_plugins:
        pm.register(plugin, name=name)
    pm.check_pending()
    return host
