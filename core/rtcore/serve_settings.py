"""Settings shared by every transport while serving."""

from __future__ import annotations

import argparse
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from rtcore.config.sections import Routing
from rtcore.mcp.spec import McpAccess
from rtcore.provider import ModelConfig

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class ServeError(Exception):
    """A transport cannot start as configured; the message is for the user and is printed
    without a traceback (for example: binding a public address without a key)."""


@dataclass
class ServeSettings:
    """What ``rtcore serve`` resolved from its flags and config file.

    ``master_key`` is a secret: never log or repr it (``repr=False``). With no key,
    any presented key is accepted and network transports bind to loopback only unless
    ``allow_unauthenticated_public`` is set.
    """

    models: list[ModelConfig]
    args: argparse.Namespace = field(default_factory=argparse.Namespace)
    host: str = "127.0.0.1"
    port: int = 4000
    master_key: str | None = field(default=None, repr=False)
    # The key store's database (--database-url, general_settings.database_url or
    # DATABASE_URL; a secret, it may hold a password); None: SQLite in the data directory.
    database_url: str | None = field(default=None, repr=False)
    # ``--spool-dir``: where session records wait while the database cannot take them
    # (None: beside the SQLite file, or in the data directory).
    spool_dir: str | None = None
    allow_unauthenticated_public: bool = False
    default_dialect: str = "beta"
    max_message_bytes: int = 16 * 1024 * 1024
    # ``--max-session-seconds``: a session ends at its expires_at (OpenAI: 60 minutes).
    max_session_seconds: int = 3600
    # ``--graceful-timeout``: on SIGTERM, how long responses in flight may take to complete.
    graceful_timeout_seconds: float = 30.0
    config_path: str | None = None
    # The model a single-client transport (stdio) serves, and the one a network transport
    # uses when a client names none (``rtcore serve --model NAME``).
    model: str | None = None
    # ``--dialect``: the dialect of every connection that gives no signal of its own
    # (header, subprotocol); None lets each session decide from its first session.update.
    dialect: str | None = None
    # Deployment id -> where the config file defined it (``model_list[0]``), for error
    # messages.
    origins: dict[str, str] = field(default_factory=dict)
    # router_settings: how sessions pick among the deployments of one model name.
    routing: Routing = field(default_factory=Routing)
    # mcp_servers and the MCP limits: what sessions' MCP tools may reach (docs/mcp.md).
    mcp: McpAccess = field(default_factory=McpAccess)
    # ``--workers N``: processes sharing the port (SO_REUSEPORT). In a worker, its index
    # (0..N-1) and ``reuse_port``; lifespans ran once, in the parent that supervises them.
    workers: int = 1
    worker_index: int | None = None
    reuse_port: bool = False
    # The config file's general_settings a transport applies (ssl_certfile, ssl_keyfile,
    # allowed_origins): the WebSocket transport's options, beside its flags in ``args``.
    general: dict[str, Any] = field(default_factory=dict)
    # ``--no-metrics``: nothing counted, no /metrics.
    metrics: bool = True
    # ``GET /metrics`` only with the master key (--metrics-require-key, or LiteLLM's
    # litellm_settings.require_auth_for_metrics_endpoint).
    metrics_require_key: bool = False
    # litellm_settings.callbacks: the logging callbacks each serving process runs, all
    # served by installed plugins (``rtcore.callbacks``).
    callbacks: tuple[str, ...] = ()
    # Session records carry what the model said in each response, for the callbacks (set
    # by a callback's ``open`` when its operator asked for content); never stored.
    response_text: bool = False

    @property
    def is_loopback(self) -> bool:
        """A loopback address or ``localhost``; a name that merely starts like one
        (``127.evil.example``) is not."""
        if self.host in LOOPBACK_HOSTS:
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False
