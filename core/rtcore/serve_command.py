"""``rtcore serve``: flags and config → settings → lifespans → Gateway → transport."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from rtcore import loops
from rtcore.config.sections import Routing
from rtcore.dialect import Dialect
from rtcore.logs import RedactingFormatter, secret_values
from rtcore.mcp.spec import McpAccess
from rtcore.plugins import PluginHost
from rtcore.serve_flags import DEFAULT_PORT, GROUPS, PORT_ENVS
from rtcore.serve_key_store import open_key_store, private_store_dir
from rtcore.serve_settings import ServeError, ServeSettings
from rtcore.warm_up import warm_up

if TYPE_CHECKING:
    from rtcore.callbacks import SessionSink
    from rtcore.config import LoadedConfig
    from rtcore.gateway import Gateway
    from rtcore.provider import ModelConfig, ProviderSpec
    from rtcore.transport import TransportSpec

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The core's ``rtcore serve`` options; plugins add theirs through a hook."""
    for title, flags in GROUPS.items():
        group = parser.add_argument_group(title)
        for names, spec in flags:
            group.add_argument(*names, **spec)


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


def _for_transports(loaded: LoadedConfig | None) -> dict[str, Any]:
    """The config file's general_settings a transport applies (TLS, browser origins)."""
    if loaded is None:
        return {}
    given = {
        "ssl_certfile": loaded.ssl_certfile,
        "ssl_keyfile": loaded.ssl_keyfile,
        "allowed_origins": loaded.allowed_origins,
    }
    return {name: value for name, value in given.items() if value}


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
    providers = host.providers()
    transports = host.transports()
    if args.transport not in transports:
        names = ", ".join(transports) or "(none installed)"
        raise ServeError(f"unknown transport {args.transport!r}; installed: {names}")
    if args.config and args.provider:
        raise ServeError("give either --config FILE or --provider NAME, not both")
    models, loaded, origins, master_key = _models(args, providers)
    if formatter is not None:
        _hide_secrets(formatter, master_key, loaded, models)
    model: str | None = args.model or args.provider
    configured = [m.name for m in models]
    if model is not None and model not in configured:
        raise ServeError(
            f"--model {model!r} is not configured; configured: {', '.join(configured)}"
        )
    port = _port(args.port)
    _check_limits(args)
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
        graceful_timeout_seconds=args.graceful_timeout,
        metrics=getattr(args, "metrics", True),
        metrics_require_key=getattr(args, "metrics_require_key", False)
        or (loaded.metrics_require_key if loaded else False),
        config_path=args.config,
        model=model,
        dialect=args.dialect,
        origins=origins,
        routing=loaded.routing if loaded else Routing(),
        mcp=loaded.mcp if loaded else McpAccess(),
        general=_for_transports(loaded),
    )
    settings.callbacks = _served_callbacks(loaded.callbacks if loaded else (), host)
    return settings


def _models(
    args: argparse.Namespace, providers: dict[str, ProviderSpec]
) -> tuple[list[ModelConfig], LoadedConfig | None, dict[str, str], str | None]:
    """The models served (from ``--config`` or ``--provider``), the config file loaded
    (None for ``--provider``), where each deployment was configured, and the master key
    (the config file's, else the environment's)."""
    from rtcore.config import load_config, master_key_from_env, provider_models

    master_key = master_key_from_env()
    if args.config:
        loaded = load_config(args.config, providers)
        return loaded.models, loaded, loaded.origins, loaded.master_key or master_key
    if args.provider:
        spec = providers.get(args.provider)
        if spec is None:
            installed = ", ".join(providers) or "(none)"
            raise ServeError(f"no provider named {args.provider!r}; installed: {installed}")
        return provider_models(spec), None, {}, master_key
    raise ServeError(
        "give --config FILE or --provider NAME "
        f"(installed providers: {', '.join(providers) or '(none)'})"
    )


def _hide_secrets(
    formatter: RedactingFormatter,
    master_key: str | None,
    loaded: LoadedConfig | None,
    models: list[ModelConfig],
) -> None:
    formatter.add_secrets([master_key] if master_key else [])
    if loaded is not None:
        formatter.add_secrets(list(loaded.environment.values()))
        if loaded.json_logs:
            formatter.style = "json"  # litellm_settings.json_logs
    for entry in models:
        formatter.add_secrets(secret_values(entry.params))


def _check_limits(args: argparse.Namespace) -> None:
    if args.max_message_bytes < 1024:
        raise ServeError("--max-message-bytes must be at least 1024")
    if args.max_session_seconds < 1:
        raise ServeError("--max-session-seconds must be at least 1")
    if args.graceful_timeout < 0:
        raise ServeError("--graceful-timeout must be 0 or more")


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


async def serve(settings: ServeSettings, host: PluginHost) -> None:
    """Run the chosen transport until it ends or SIGINT/SIGTERM arrives."""
    transport = host.transports()[settings.args.transport]
    if transport.check is not None:
        transport.check(settings)
    loop = asyncio.get_running_loop()
    log.debug("event loop: %s", loops.loop_name(loop))
    if not settings.metrics:
        from rtcore.telemetry import metrics

        metrics.disable()
    async with AsyncExitStack() as stack:
        gateway = await _open_gateway(stack, host, settings)
        warming = asyncio.create_task(warm_up(gateway, settings), name="warm-up")
        stack.callback(warming.cancel)
        await _run_until_stopped(transport, gateway, settings, stack)


async def _open_gateway(
    stack: AsyncExitStack, host: PluginHost, settings: ServeSettings
) -> Gateway:
    """The gateway, its providers built and its key store open; closed with ``stack``."""
    # The session core (numpy, codecs) is imported only when serving starts.
    from rtcore.gateway import Gateway

    # Lifespans may rewrite settings.models, so the gateway is built after them.
    await enter_lifespans(stack, host, settings)
    private_keys = private_store_dir(stack, settings)
    # What the model said is for the callbacks that asked for it, not every plugin.
    sinks: list[SessionSink] = [lambda record: host.session_ended(record.without_text())]
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
    gateway.keys = await open_key_store(settings, private_keys)
    gateway.http_routes = host.http_routes(gateway, settings)
    return gateway


async def _run_until_stopped(
    transport: TransportSpec, gateway: Gateway, settings: ServeSettings, stack: AsyncExitStack
) -> None:
    """Serve until the transport ends; the first SIGINT/SIGTERM drains, a second one
    stops at once, SIGHUP is answered by ``hangup``."""
    loop = asyncio.get_running_loop()

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
