"""``rtcore serve``: flags and config → settings → lifespans → Gateway → transport."""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import logging
import os
import re
import signal
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from rtcore import loops
from rtcore.config_sections import Routing
from rtcore.dialect import Dialect
from rtcore.logs import RedactingFormatter, secret_values
from rtcore.loops import LOOPS
from rtcore.mcp.spec import McpAccess
from rtcore.plugins import PluginHost
from rtcore.provider import WarmsUp
from rtcore.serve_settings import ServeError, ServeSettings

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from rtcore.callbacks import SessionSink
    from rtcore.gateway import Gateway
    from rtcore.keys.store import KeyStore
    from rtcore.provider import ModelConfig

log = logging.getLogger(__name__)

DEFAULT_PORT = 4000
# The port from the environment when --port is not given: rtcore's own variable, then the
# one LiteLLM's proxy (and many platforms) use.
PORT_ENV = "RTCORE_PORT"
PORT_ENVS = (PORT_ENV, "PORT")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The core's ``rtcore serve`` options; plugins add theirs through a hook."""
    source = parser.add_argument_group("models")
    source.add_argument(
        "--config", "-c", metavar="FILE", help="LiteLLM-style config.yaml (LiteLLM's -c too)"
    )
    source.add_argument(
        "--provider",
        metavar="NAME",
        help="serve one provider without a config file; its default model answers to NAME",
    )
    source.add_argument(
        "--model", metavar="NAME", help="the model stdio serves (and the default over WebSocket)"
    )
    net = parser.add_argument_group("serving")
    net.add_argument("--transport", default="websocket", help="websocket (default) or stdio")
    net.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    net.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"port to bind (default: ${PORT_ENV}, else $PORT as LiteLLM reads it, else "
        f"{DEFAULT_PORT}; 0 = any)",
    )
    net.add_argument(
        "--allow-unauthenticated-public",
        action="store_true",
        help="allow binding a non-loopback address with no master key",
    )
    net.add_argument(
        "--dialect",
        choices=[d.value for d in Dialect],
        help="force a dialect for clients that do not signal one (default: decided per session)",
    )
    net.add_argument(
        "--loop",
        choices=LOOPS,
        default="auto",
        help="event loop: uvloop when installed (auto, the default), uvloop, or asyncio",
    )
    net.add_argument(
        "--ssl-certfile",
        metavar="PEM",
        help="serve TLS (wss://, https://) with this certificate chain (and --ssl-keyfile)",
    )
    net.add_argument("--ssl-keyfile", metavar="PEM", help="the private key of --ssl-certfile")
    net.add_argument(
        "--allowed-origin",
        metavar="ORIGIN",
        action="append",
        default=[],
        help="accept WebSocket upgrades from this browser origin (repeatable; * for any); "
        "same-origin pages and clients that send no Origin are always accepted",
    )
    net.add_argument(
        "--max-session-seconds",
        type=int,
        default=3600,
        help="a session ends this long after it began, at its expires_at (default 3600, "
        "OpenAI's 60 minutes)",
    )
    net.add_argument(
        "--database-url",
        default=None,
        help="the database of virtual keys and spend logs (postgresql://... for several "
        "replicas; default: general_settings.database_url, DATABASE_URL, else SQLite in "
        "the data directory, one file per port: rtcore-PORT.db). Used only with a master key.",
    )
    net.add_argument(
        "--spool-dir",
        metavar="DIR",
        default=None,
        help="where session records wait while the key database cannot take them, written "
        "when it is back (default: beside the SQLite file, rtcore.db-spool; for PostgreSQL, "
        "in the data directory). Give a persistent volume where local disk is not.",
    )
    net.add_argument(
        "--header-timeout-seconds",
        type=float,
        default=10.0,
        help="close a connection whose request (line and headers) has not arrived in this "
        "time (default 10)",
    )
    net.add_argument(
        "--send-timeout-seconds",
        type=float,
        default=10.0,
        help="a client that reads nothing for this long is dropped (1008) and its session "
        "closed (default 10)",
    )
    net.add_argument(
        "--ping-interval",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="WebSocket ping to every client this often, which keeps quiet sessions open "
        "through proxies' idle timeouts and finds dead peers (default 20, as OpenAI's "
        "service; 0 turns pings off)",
    )
    net.add_argument(
        "--no-metrics",
        dest="metrics",
        action="store_false",
        help="count nothing and serve no /metrics",
    )
    net.add_argument(
        "--metrics-require-key",
        action="store_true",
        help="serve GET /metrics only to the master key (also "
        "litellm_settings.require_auth_for_metrics_endpoint)",
    )
    net.add_argument(
        "--graceful-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on SIGTERM/SIGINT, how long responses in flight may take to complete before "
        "every session is closed (default 30; a second signal stops at once)",
    )
    net.add_argument(
        "--max-message-bytes",
        type=int,
        default=16 * 1024 * 1024,
        help="largest client event accepted (default 16 MiB)",
    )
    net.add_argument(
        "--emulator",
        action="store_true",
        help="answer models from the local emulators installed plugins ship, in-process "
        "(each emulator plugin takes its own provider's models; no cloud account needed, "
        "replies are synthetic)",
    )


async def enter_lifespans(stack: AsyncExitStack, host: PluginHost, settings: ServeSettings) -> None:
    """Enter the plugins' serve lifespans (they may rewrite ``settings.models``)."""
    before = list(settings.models)
    for lifespan in host.serve_lifespans(settings):
        await stack.enter_async_context(lifespan)
    if getattr(settings.args, "emulator", False) and settings.models == before:
        log.warning(
            "--emulator: no configured model is one an installed emulator answers, so "
            "nothing is emulated"
        )


def _origins(values: list[str]) -> tuple[str, ...]:
    """Origins as browsers send them (``scheme://host[:port]``, lower case, no path)."""
    out: list[str] = []
    for value in values:
        origin = value.strip().rstrip("/").lower()
        if origin != "*" and not re.fullmatch(r"[a-z][a-z0-9+.-]*://[^/\s]+", origin):
            raise ServeError(
                f"allowed origin {value!r} is not an origin: give scheme://host[:port], "
                "such as https://app.example.com, or * for any"
            )
        out.append(origin)
    return tuple(out)


def _port(flag: int | None) -> int:
    """``--port``, else the first of ``RTCORE_PORT`` / ``PORT`` that is set, else 4000."""
    if flag is not None:
        if not 0 <= flag <= 65535:
            raise ServeError(f"--port {flag} is out of range 0-65535")
        return flag
    for name in PORT_ENVS:
        raw = os.environ.get(name, "").strip()
        if not raw:
            continue
        if not raw.isdigit() or int(raw) > 65535:
            raise ServeError(f"{name}={raw!r} is not a port number (0-65535)")
        return int(raw)
    return DEFAULT_PORT


def build_settings(
    args: argparse.Namespace, host: PluginHost, formatter: RedactingFormatter | None = None
) -> ServeSettings:
    """Resolve flags and the config file; raise ``ConfigError``/``ServeError`` for the user.

    Secrets are handed to ``formatter`` as soon as they are known, before anything can log.
    """
    from rtcore.config import load_config, master_key_from_env, provider_models

    providers = host.providers()
    transports = host.transports()
    if args.transport not in transports:
        names = ", ".join(transports) or "(none installed)"
        raise ServeError(f"unknown transport {args.transport!r}; installed: {names}")
    if args.config and args.provider:
        raise ServeError("give either --config FILE or --provider NAME, not both")
    master_key = master_key_from_env()
    origins: dict[str, str] = {}
    loaded = None
    if args.config:
        loaded = load_config(args.config, providers)
        models = loaded.models
        origins = loaded.origins
        master_key = loaded.master_key or master_key
    elif args.provider:
        spec = providers.get(args.provider)
        if spec is None:
            installed = ", ".join(providers) or "(none)"
            raise ServeError(f"no provider named {args.provider!r}; installed: {installed}")
        models = provider_models(spec)
    else:
        raise ServeError(
            "give --config FILE or --provider NAME "
            f"(installed providers: {', '.join(providers) or '(none)'})"
        )
    if formatter is not None:
        formatter.add_secrets([master_key] if master_key else [])
        if loaded is not None:
            formatter.add_secrets(list(loaded.environment.values()))
            if loaded.json_logs:
                formatter.style = "json"  # litellm_settings.json_logs
        for entry in models:
            formatter.add_secrets(secret_values(entry.params))

    model: str | None = args.model or args.provider
    configured = [m.name for m in models]
    if model is not None and model not in configured:
        raise ServeError(
            f"--model {model!r} is not configured; configured: {', '.join(configured)}"
        )
    port = _port(args.port)
    if args.max_message_bytes < 1024:
        raise ServeError("--max-message-bytes must be at least 1024")
    if args.max_session_seconds < 1:
        raise ServeError("--max-session-seconds must be at least 1")
    if args.send_timeout_seconds <= 0:
        raise ServeError("--send-timeout-seconds must be more than 0")
    if args.header_timeout_seconds <= 0:
        raise ServeError("--header-timeout-seconds must be more than 0")
    if getattr(args, "ping_interval", 20.0) < 0:
        raise ServeError("--ping-interval must be 0 (off) or more")
    if args.graceful_timeout < 0:
        raise ServeError("--graceful-timeout must be 0 or more")
    certfile = getattr(args, "ssl_certfile", None) or (loaded.ssl_certfile if loaded else None)
    keyfile = getattr(args, "ssl_keyfile", None) or (loaded.ssl_keyfile if loaded else None)
    if keyfile is not None and certfile is None:
        raise ServeError("--ssl-keyfile needs --ssl-certfile (the certificate to serve)")
    for flag, path in (("--ssl-certfile", certfile), ("--ssl-keyfile", keyfile)):
        if path is not None and not Path(path).is_file():
            raise ServeError(f"{flag} {path}: no such file")
    settings = ServeSettings(
        models=models,
        args=args,
        host=args.host,
        port=port,
        master_key=master_key,
        database_url=(
            getattr(args, "database_url", None)
            or (loaded.database_url if loaded else None)
            or os.environ.get("DATABASE_URL")
        ),
        spool_dir=getattr(args, "spool_dir", None),
        allow_unauthenticated_public=args.allow_unauthenticated_public,
        max_message_bytes=args.max_message_bytes,
        max_session_seconds=args.max_session_seconds,
        send_timeout_seconds=args.send_timeout_seconds,
        header_timeout_seconds=args.header_timeout_seconds,
        graceful_timeout_seconds=args.graceful_timeout,
        ping_interval_seconds=getattr(args, "ping_interval", 20.0),
        metrics=getattr(args, "metrics", True),
        metrics_require_key=getattr(args, "metrics_require_key", False)
        or (loaded.metrics_require_key if loaded else False),
        config_path=args.config,
        model=model,
        dialect=args.dialect,
        origins=origins,
        routing=loaded.routing if loaded else Routing(),
        mcp=loaded.mcp if loaded else McpAccess(),
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        allowed_origins=_origins(
            [*(loaded.allowed_origins if loaded else ()), *getattr(args, "allowed_origin", [])]
        ),
    )
    settings.tls_context()  # a bad certificate or key stops the start, with a message
    settings.callbacks = _served_callbacks(loaded.callbacks if loaded else (), host)
    return settings


def _served_callbacks(names: tuple[str, ...], host: PluginHost) -> tuple[str, ...]:
    """The configured callbacks an installed plugin serves; the others are named in a
    warning (LiteLLM's configs name callbacks rtcore has no plugin for)."""
    served = host.callbacks()
    missing = [name for name in names if name not in served]
    if missing:
        log.warning(
            "litellm_settings callbacks %s: no installed plugin serves them; not applied "
            "(served: %s)",
            ", ".join(missing),
            ", ".join(served) or "none",
        )
    return tuple(name for name in names if name in served)


def _build_providers(gateway: Gateway, settings: ServeSettings) -> None:
    """Build every model's provider now, so that bad provider options (a malformed param,
    an unknown model id) stop the start with a message instead of failing the first client."""
    from rtcore.config import ConfigError

    origins = settings.origins
    for model in settings.models:
        try:
            gateway.provider_for(model)
        except Exception as exc:  # third-party factories may raise anything
            log.debug("provider for model %r failed to build", model.name, exc_info=True)
            source = settings.config_path or f"--provider {model.provider}"
            place = origins.get(model.deployment_id)
            key = f"{place}.litellm_params" if place is not None else None
            problem = f"model {model.name!r} (provider {model.provider!r}): {exc}"
            raise ConfigError(source, key, problem) from None


async def _warm_up(gateway: Gateway, settings: ServeSettings) -> None:
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
    if settings.mcp.servers or settings.mcp.client_urls:
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
        await asyncio.to_thread(importlib.import_module, "rtcore.mcp.client")
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


async def _open_key_store(settings: ServeSettings) -> KeyStore | None:
    """With a master key, virtual keys and spend logs live in a database: SQLite in the
    data directory, one file per port, unless a database URL is given. Without one there
    is nobody to mint keys, and nothing is stored."""
    if settings.master_key is None:
        return None
    from rtcore.keys.errors import StoreUnavailable
    from rtcore.keys.litellm_db import RTCORE_SCHEMA, LiteLLMKeyStore, litellm_schema
    from rtcore.keys.store import KeyStore, default_url

    url = settings.database_url or default_url(settings.port)
    if not settings.database_url:
        _mention_the_shared_store(url, default_url())
    spool = Path(settings.spool_dir) if settings.spool_dir else None
    try:
        litellm = await litellm_schema(url) if settings.database_url else None
        if litellm is not None:
            store: KeyStore = await LiteLLMKeyStore.open_on(
                url, litellm, master_key=settings.master_key, spool_dir=spool
            )
            log.info(
                "LiteLLM's database (its tables in schema %r): its virtual keys admit "
                "sessions, which are written to its spend log; rtcore's own tables are in "
                "schema %r (records wait in %s while it is down)",
                litellm,
                RTCORE_SCHEMA,
                store.spool_directory,
            )
            return store
        store = await KeyStore.open(url, spool_dir=spool)
    except StoreUnavailable as exc:
        raise ServeError(f"cannot use the key database: {exc.reason}") from None
    except Exception as exc:
        raise ServeError(f"cannot open the key database: {type(exc).__name__}: {exc}") from None
    where = "the configured database" if settings.database_url else url.split("///", 1)[-1]
    log.info(
        "virtual keys and spend logs in %s (records wait in %s while it is down)",
        where,
        store.spool_directory,
    )
    return store


def _mention_the_shared_store(url: str, shared_url: str) -> None:
    """Earlier, every server of a machine kept its keys in one ``rtcore.db``: a server that
    starts a store of its own next to one says where its keys went."""
    own, shared = (Path(u.split("///", 1)[-1]) for u in (url, shared_url))
    if shared.exists() and not own.exists():
        log.warning(
            "%s holds the keys of an earlier rtcore, which kept one store for every server; "
            "this server (port-named) keeps its own, %s: to go on with those keys, move the "
            "file there or serve with --database-url sqlite:///%s",
            shared,
            own.name,
            shared,
        )


async def _all(waiting: list[Awaitable[None]]) -> None:
    for awaitable in waiting:
        await awaitable


async def serve(settings: ServeSettings, host: PluginHost) -> None:
    """Run the chosen transport until it ends or SIGINT/SIGTERM arrives."""
    # The session core (numpy, codecs) is imported only when serving starts.
    from rtcore.gateway import Gateway

    transport = host.transports()[settings.args.transport]
    if transport.check is not None:
        transport.check(settings)
    loop = asyncio.get_running_loop()
    log.debug("event loop: %s", loops.loop_name(loop))
    if not settings.metrics:
        from rtcore.telemetry import metrics

        metrics.disable()
    async with AsyncExitStack() as stack:
        # Lifespans may rewrite settings.models, so the gateway is built after them.
        await enter_lifespans(stack, host, settings)
        # What the model said is for the callbacks that asked for it, not every plugin.
        sinks: list[SessionSink] = [lambda record: _all(host.session_ended(record.without_text()))]
        callbacks = host.callbacks()
        for name in settings.callbacks:
            sinks.append(await stack.enter_async_context(callbacks[name].open(settings)))
        gateway = Gateway(
            settings.models,
            host.providers(),
            sinks=sinks,
            master_key=settings.master_key,
            default_dialect=Dialect(settings.default_dialect),
            max_message_bytes=settings.max_message_bytes,
            session_lifetime_seconds=settings.max_session_seconds,
            routing=settings.routing,
            response_text=settings.response_text,
            mcp=settings.mcp,
        )
        stack.push_async_callback(gateway.aclose)
        _build_providers(gateway, settings)
        # Opened once the configuration is known to be good.
        gateway.keys = await _open_key_store(settings)
        gateway.http_routes = host.http_routes(gateway, settings)
        warming = asyncio.create_task(_warm_up(gateway, settings), name="warm-up")
        stack.callback(warming.cancel)

        async def run_transport() -> None:
            await transport.serve(gateway, settings)

        task = asyncio.create_task(run_transport())
        stopping: list[int] = []

        async def drain() -> None:
            await gateway.drain(settings.graceful_timeout_seconds)
            task.cancel()

        def stop(signum: int) -> None:
            # The first signal drains; a second one stops at once.
            stopping.append(signum)
            if len(stopping) == 1:
                log.info("%s received: draining", signal.Signals(signum).name)
                draining = asyncio.create_task(drain(), name="drain")
                stack.callback(draining.cancel)
            else:
                task.cancel()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop, signum)
        loop.add_signal_handler(signal.SIGHUP, hangup)
        try:
            await task
        except asyncio.CancelledError:
            if not stopping:
                raise
            log.info("stopped by %s", signal.Signals(stopping[0]).name)
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(signum)


def hangup() -> None:
    """SIGHUP (a closed terminal, or an operator asking for a reload) never ends serving
    silently: rtcore does not reload its configuration in place, so it says so and goes
    on. Restart it (or drain with SIGTERM) to apply a new configuration."""
    log.warning(
        "SIGHUP received: still serving (rtcore does not reload its configuration; "
        "restart it to apply changes)"
    )


def run(args: argparse.Namespace, host: PluginHost, formatter: RedactingFormatter) -> int:
    """The ``serve`` subcommand; returns the exit code."""
    from rtcore.config import ConfigError

    try:
        settings = build_settings(args, host, formatter)
        loops.run(serve(settings, host), args.loop)
    except (ConfigError, ServeError) as exc:
        log.debug("serve refused to start", exc_info=True)
        print(f"rtcore serve: error: {exc}", file=sys.stderr)
        return 2
    return 0
