"""``rtcore serve``'s own flags, by help group (``serve_command.add_arguments`` adds them;
plugins add theirs through the ``rtcore_add_serve_arguments`` hook)."""

from __future__ import annotations

from typing import Any

from rtcore.dialect import Dialect
from rtcore.loops import LOOPS

DEFAULT_PORT = 4000
# The port from the environment when --port is not given: rtcore's own variable, then the
# one LiteLLM's proxy (and many platforms) use.
PORT_ENV = "RTCORE_PORT"
PORT_ENVS = (PORT_ENV, "PORT")

type Flag = tuple[tuple[str, ...], dict[str, Any]]


def _flag(*names: str, **spec: Any) -> Flag:
    """A flag as ``add_argument`` takes it: its names, then its keywords."""
    return names, spec


GROUPS: dict[str, tuple[Flag, ...]] = {
    "models": (
        _flag(
            "--config", "-c", metavar="FILE", help="LiteLLM-style config.yaml (LiteLLM's -c too)"
        ),
        _flag(
            "--provider",
            metavar="NAME",
            help="serve one provider without a config file; its default model answers to NAME",
        ),
        _flag(
            "--model",
            metavar="NAME",
            help="the model stdio serves (and the default over WebSocket)",
        ),
    ),
    "serving": (
        _flag("--transport", default="websocket", help="websocket (default) or stdio"),
        _flag("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"),
        _flag(
            "--port",
            type=int,
            default=None,
            help=f"port to bind (default: ${PORT_ENV}, else $PORT as LiteLLM reads it, else "
            f"{DEFAULT_PORT}; 0 = any)",
        ),
        _flag(
            "--allow-unauthenticated-public",
            action="store_true",
            help="allow binding a non-loopback address with no master key",
        ),
        _flag(
            "--dialect",
            choices=[d.value for d in Dialect],
            help="force a dialect for clients that do not signal one "
            "(default: decided per session)",
        ),
        _flag(
            "--loop",
            choices=LOOPS,
            default="auto",
            help="event loop: uvloop when installed (auto, the default), uvloop, or asyncio",
        ),
        _flag(
            "--max-session-seconds",
            type=int,
            default=3600,
            help="a session ends this long after it began, at its expires_at (default 3600, "
            "OpenAI's 60 minutes)",
        ),
        _flag(
            "--database-url",
            default=None,
            help="the database of virtual keys and spend logs (postgresql://... for several "
            "replicas; default: general_settings.database_url, DATABASE_URL, else SQLite in "
            "the data directory, one file per port: rtcore-PORT.db). Used only with a master key.",
        ),
        _flag(
            "--spool-dir",
            metavar="DIR",
            default=None,
            help="where session records wait while the key database cannot take them, written "
            "when it is back (default: beside the SQLite file, rtcore-PORT.db-spool; for "
            "PostgreSQL, in the data directory). Give a persistent volume where local disk is not.",
        ),
        _flag(
            "--no-metrics",
            dest="metrics",
            action="store_false",
            help="count nothing and serve no /metrics",
        ),
        _flag(
            "--metrics-require-key",
            action="store_true",
            help="serve GET /metrics only to the master key (also "
            "litellm_settings.require_auth_for_metrics_endpoint)",
        ),
        _flag(
            "--graceful-timeout",
            type=float,
            default=30.0,
            metavar="SECONDS",
            help="on SIGTERM/SIGINT, how long responses in flight may take to complete before "
            "every session is closed (default 30; a second signal stops at once)",
        ),
        _flag(
            "--max-message-bytes",
            type=int,
            default=16 * 1024 * 1024,
            help="largest client event accepted (default 16 MiB)",
        ),
        _flag(
            "--emulator",
            action="store_true",
            help="answer models from the local emulators installed plugins ship, in-process "
            "(each emulator plugin takes its own provider's models; no cloud account needed, "
            "replies are synthetic)",
        ),
    ),
}
