"""Loading the model table: from a LiteLLM-style ``config.yaml`` or from ``--provider NAME``.

The file format is LiteLLM's, so a config written for LiteLLM's proxy works unchanged::

    model_list:
      - model_name: bedrock-sonic
        litellm_params:
          model: bedrock/amazon.nova-sonic-v1:0
          aws_region_name: us-east-1
        model_info:
          mode: realtime
    general_settings:
      master_key: os.environ/RTCORE_MASTER_KEY

Every problem is reported as a ``ConfigError`` naming the file, the key path and what is
wrong; callers print it and exit, never a traceback.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import msgspec
import yaml

from rtcore.config.errors import ConfigError
from rtcore.config.general import general_settings
from rtcore.config.include import merge_includes
from rtcore.config.known_keys import SECTIONS, likely_key, refuse_misspelt_master_key
from rtcore.config.mcp import mcp_access, mcp_servers
from rtcore.config.models import model_list
from rtcore.config.sections import Routing, check_fallbacks, litellm_settings, router_settings
from rtcore.config.values import kind, mapping, resolve_env
from rtcore.mcp.spec import McpAccess
from rtcore.provider import ModelConfig, ProviderSpec

# What the file says is logged under one name, whichever module read it: an operator
# filters on "rtcore.config", not on how the reading is split.
log = logging.getLogger("rtcore.config")

MASTER_KEY_ENV = "RTCORE_MASTER_KEY"
LITELLM_MASTER_KEY_ENV = "LITELLM_MASTER_KEY"
# Top-level sections rtcore reads; LiteLLM's others are accepted so that one file can
# serve both, and named in a log line as ignored.
KNOWN_SECTIONS = SECTIONS


class LoadedConfig(msgspec.Struct, frozen=True, kw_only=True):
    """What a config file resolved to. ``master_key`` is a secret; ``origins`` maps each
    deployment id (the model name, for a name with one entry) to its key path
    (``model_list[0]``) for later error messages."""

    models: list[ModelConfig]
    master_key: str | None = None
    origins: dict[str, str] = msgspec.field(default_factory=dict)
    # litellm_settings.require_auth_for_metrics_endpoint: /metrics only with the master key.
    metrics_require_key: bool = False
    # litellm_settings.json_logs: log JSON lines (as --log-format json).
    json_logs: bool = False
    # litellm_settings.callbacks (and success_callback, failure_callback): the logging
    # callbacks to run, by name.
    callbacks: tuple[str, ...] = ()
    # router_settings: how a session picks among a model_name's deployments.
    routing: Routing = msgspec.field(default_factory=lambda: Routing())
    # general_settings.ssl_certfile / ssl_keyfile: serve wss:// and https:// (PEM files).
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    # general_settings.allowed_origins: browser origins allowed to open sessions.
    allowed_origins: tuple[str, ...] = ()
    # environment_variables: set in the process before anything else is read (secrets).
    environment: dict[str, str] = msgspec.field(default_factory=dict)
    # general_settings.database_url: the key store's database (PostgreSQL for replicas).
    database_url: str | None = msgspec.field(default=None)
    # mcp_servers, and general_settings' MCP limits (rtcore.config.mcp).
    mcp: McpAccess = msgspec.field(default_factory=lambda: McpAccess())


def _environment(section: object, source: str) -> dict[str, str]:
    """LiteLLM's ``environment_variables:``: names and values set in this process's
    environment before the rest of the file is read, so ``os.environ/NAME`` finds them (as
    LiteLLM does, they replace what the environment had). The values are secrets to the
    logs; the names are logged."""
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError(
            source, "environment_variables", f"expected a mapping, got {kind(section)}"
        )
    values: dict[str, str] = {}
    for name, value in section.items():
        if not isinstance(name, str) or not name or "=" in name:
            raise ConfigError(source, "environment_variables", f"{name!r} is not a variable name")
        if not isinstance(value, str | int | float | bool) or value is None:
            raise ConfigError(
                source, f"environment_variables.{name}", f"expected a string, got {kind(value)}"
            )
        values[name] = str(value).lower() if isinstance(value, bool) else str(value)
    os.environ.update(values)
    if values:
        log.info("%s: set %s from environment_variables", source, ", ".join(sorted(values)))
    return values


def parse_config(data: object, providers: Mapping[str, ProviderSpec], source: str) -> LoadedConfig:
    """Validate an already-parsed YAML document into the model table, section by section:
    environment_variables first, so that every ``os.environ/NAME`` after it finds them."""
    if data is None:
        raise ConfigError(source, None, "the file is empty; it needs a model_list")
    top = mapping(data, "(top level)", source)
    refuse_misspelt_master_key(source, top)
    _name_unknown_sections(top, source)
    environment = _environment(top.get("environment_variables"), source)
    models, origins = model_list(top, providers, source)
    settings = mapping(top.get("general_settings") or {}, "general_settings", source)
    general = general_settings(settings, source)
    servers = mcp_servers(resolve_env(top.get("mcp_servers"), "mcp_servers", source), source)
    mcp = mcp_access(servers, settings, source)
    lite = litellm_settings(top.get("litellm_settings"), source)
    routing = router_settings(top.get("router_settings"), source)
    check_fallbacks(routing, {m.name for m in models}, source)
    return LoadedConfig(
        models=models,
        environment=environment,
        routing=routing,
        metrics_require_key=lite.metrics_require_key,
        json_logs=lite.json_logs,
        callbacks=lite.callbacks,
        master_key=general.master_key,
        database_url=general.database_url,
        origins=origins,
        allowed_origins=general.allowed_origins,
        ssl_certfile=general.ssl_certfile,
        ssl_keyfile=general.ssl_keyfile,
        mcp=mcp,
    )


def _name_unknown_sections(top: dict[str, object], source: str) -> None:
    """A section that is a known one misspelt is warned about; LiteLLM's others are
    accepted, so that one file can serve both, and named in one line as ignored."""
    ignored: list[str] = []
    for section in sorted(set(top) - KNOWN_SECTIONS):
        guess = likely_key(section, KNOWN_SECTIONS)
        if guess is None:
            ignored.append(section)
            continue
        log.warning(
            "%s: %s is not a section rtcore knows; did you mean %s? It is ignored",
            source,
            section,
            guess,
        )
    if ignored:
        log.info("%s: ignoring sections rtcore does not use: %s", source, ", ".join(ignored))


def load_config(path: str | Path, providers: Mapping[str, ProviderSpec]) -> LoadedConfig:
    """Read and validate a config file."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(source, None, f"cannot read the file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(source, None, "the file is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, None, f"{where}invalid YAML: {problem}") from None
    if isinstance(data, dict):
        data = merge_includes(data, Path(path).parent, source)
    return parse_config(data, providers, source)


def provider_models(spec: ProviderSpec) -> list[ModelConfig]:
    """The model table for ``--provider NAME`` without a file: the default model answers to
    the provider's name, and each of its model ids answers to itself (offered, not named:
    ``implicit``)."""
    models = [ModelConfig(name=spec.name, provider=spec.name, model=spec.default_model)]
    models += [
        ModelConfig(name=m, provider=spec.name, model=m, implicit=True)
        for m in spec.models
        if m != spec.name
    ]
    return models


def master_key_from_env() -> str | None:
    """``RTCORE_MASTER_KEY``, else LiteLLM's ``LITELLM_MASTER_KEY`` (so a LiteLLM
    deployment's environment works as it is), used when the config file sets no key. Empty
    or whitespace means unset (a key nobody could type would lock everyone out yet allow a
    public bind); surrounding whitespace (a key read from a file with its newline) is not
    part of it."""
    for name in (MASTER_KEY_ENV, LITELLM_MASTER_KEY_ENV):
        if key := (os.environ.get(name) or "").strip():
            return key
    return None
