"""What serving does once it has started, off the start's path: each provider warmed up
(credentials resolved, upstream connections opened), the MCP SDK loaded when sessions may
use it, and then everything start-up built frozen out of the cyclic collector's reach."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import TYPE_CHECKING

from rtcore.mcp.runner import load_client
from rtcore.provider import WarmsUp

if TYPE_CHECKING:
    from rtcore.gateway import Gateway
    from rtcore.provider import ModelConfig
    from rtcore.serve_settings import ServeSettings

log = logging.getLogger(__name__)


async def warm_up(gateway: Gateway, settings: ServeSettings) -> None:
    """Let each provider that can (``warm_up()``) resolve credentials and open its upstream
    connection now, in the background: never delaying the start nor failing it. Then
    start-up is over: freeze what it built."""

    failed: dict[str, list[str]] = {}

    async def one(model: ModelConfig) -> None:
        provider = gateway.provider_for(model)
        if not isinstance(provider, WarmsUp):
            return
        try:
            await provider.warm_up()
        except Exception as exc:
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            failed.setdefault(message, []).append(model.name)

    loading = [one(model) for model in settings.models]
    if settings.mcp.servers:
        # Sessions will use the configured servers: the SDK is loaded now and frozen with
        # the rest of start-up. (A session naming a server by URL loads it off the loop on
        # first use, without delaying every start for what most servers never use: its
        # import and the collection after it slowed the first WebRTC calls of a server.)
        loading.append(_load_mcp_sdk())
    await asyncio.gather(*loading)
    # A WARNING, once per cause: the server runs, but no session of these models will
    # until it is fixed, and the provider's message says how.
    for message, failing in failed.items():
        names = [m.name for m in settings.models if m.name in failing]  # as configured
        which = ", ".join(repr(name) for name in dict.fromkeys(names))
        plural = "s" if len(set(names)) > 1 else ""
        log.warning(
            "model%s %s cannot serve sessions yet (each session tries again): %s",
            plural,
            which,
            message,
        )
    _freeze_startup_heap()


async def _load_mcp_sdk() -> None:
    """The MCP SDK (and its HTTP stack) loaded now, in a thread, when sessions may use MCP
    servers, and frozen with the rest of start-up. Loaded by the first session that names
    a server, on the event loop, it would stop every session's audio for a second or more,
    and its ~66,000 objects would lengthen every full collection after (~75 ms)."""
    try:
        await load_client()
    except Exception:  # a session loading it later says what is wrong
        log.warning("the MCP SDK could not be loaded", exc_info=True)


def _freeze_startup_heap() -> None:
    """Move what start-up built (modules, plugins, warmed clients) out of the cyclic
    collector's reach.

    A full collection scans every tracked object; with the AWS SDK's models imported that
    is ~40-80 ms with the event loop stopped, enough to push every session's audio past
    real time. Frozen objects are never scanned again, so later full passes only walk
    what sessions allocated.
    """
    gc.collect()
    gc.freeze()
    log.debug("froze %d start-up objects", gc.get_freeze_count())
