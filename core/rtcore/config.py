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

import difflib
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import msgspec
import yaml

# Raised for every problem of a file; importable from here, as callers always have.
from rtcore.config_errors import ConfigError as ConfigError
from rtcore.config_include import merge_includes
from rtcore.config_keys import (
    CORE_MODEL_INFO,
    GENERAL_SETTINGS,
    LITELLM_GENERAL_SETTINGS,
    MODEL_ENTRY,
    SECTIONS,
    UNAPPLIED_GENERAL_SETTINGS,
    likely_key,
    missing_hint,
    refuse_misspelt_master_key,
    unapplied,
)
from rtcore.config_mcp import mcp_access, mcp_servers
from rtcore.config_sections import Routing, litellm_settings, router_settings
from rtcore.mcp.spec import McpAccess
from rtcore.provider import DeploymentLimits, ModelConfig, ProviderSpec

log = logging.getLogger(__name__)

ENV_PREFIX = "os.environ/"
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
    # mcp_servers, and general_settings' MCP limits (rtcore.config_mcp).
    mcp: McpAccess = msgspec.field(default_factory=lambda: McpAccess())


def resolve_env(value: object, key: str, source: str) -> object:
    """Replace every ``os.environ/NAME`` string inside ``value`` (recursively) by the
    variable's value; a missing variable is an error naming the key that referenced it."""
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        name = value.removeprefix(ENV_PREFIX)
        resolved = os.environ.get(name)
        if not name or resolved is None:
            raise ConfigError(
                source, key, f"environment variable {name!r} is not set (referenced as {value!r})"
            )
        return resolved
    if isinstance(value, dict):
        return {k: resolve_env(v, f"{key}.{k}", source) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_env(v, f"{key}[{i}]", source) for i, v in enumerate(value)]
    return value


def _mapping(value: object, key: str, source: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ConfigError(source, key, f"expected a mapping, got {_kind(value)}")
    for k in value:
        if not isinstance(k, str):
            raise ConfigError(source, key, f"keys must be strings, got {k!r}")
    return value


def _string(value: object, key: str, source: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(source, key, f"expected a non-empty string, got {_kind(value)}")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "nothing (null)"
    kinds = {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
    }
    return kinds.get(type(value), f"a {type(value).__name__}")


def match_provider(
    model: str, providers: Mapping[str, ProviderSpec], key: str, source: str
) -> tuple[ProviderSpec, str]:
    """Find the provider serving a LiteLLM model string ``PREFIX/ID``. ``PREFIX`` is one of
    a provider's ``model_prefixes`` or the provider's own name."""
    prefix, sep, model_id = model.partition("/")
    if not sep or not prefix or not model_id:
        raise ConfigError(
            source,
            key,
            f"expected 'PROVIDER/MODEL_ID' such as 'bedrock/amazon.nova-sonic-v1:0', got {model!r}",
        )
    by_prefix = [s for s in providers.values() if prefix in s.model_prefixes or prefix == s.name]
    if not by_prefix:
        raise ConfigError(
            source,
            key,
            f"no installed provider serves models starting with {prefix + '/'!r}. "
            f"Installed providers: {_describe(providers)}",
        )
    claimed = [s for s in by_prefix if s.claims(model_id)]
    if not claimed:
        known = sorted({m for s in by_prefix for m in (s.default_model, *s.models)})
        raise ConfigError(
            source,
            key,
            f"provider {by_prefix[0].name!r} does not serve model id {model_id!r}; "
            f"known ids: {', '.join(known)}",
        )
    if len(claimed) > 1:
        names = ", ".join(s.name for s in claimed)
        raise ConfigError(
            source,
            key,
            f"{model!r} is claimed by several providers ({names}); "
            "disable all but one with --disable-plugin NAME",
        )
    return claimed[0], model_id


# LiteLLM's per-deployment limits, applied to sessions: opens per minute, sessions at once,
# and how long opening one may take.
LIMIT_KEYS = ("rpm", "max_parallel_requests", "timeout")


def deployment_limits(params: Mapping[str, object], where: str, source: str) -> DeploymentLimits:
    values: dict[str, float] = {}
    for key in LIMIT_KEYS:
        value = params.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(source, f"{where}.{key}", f"expected a number above 0, got {value!r}")
        values[key] = value
    rpm, parallel = values.get("rpm"), values.get("max_parallel_requests")
    return DeploymentLimits(
        sessions_per_minute=int(rpm) if rpm is not None else None,
        max_sessions=int(parallel) if parallel is not None else None,
        open_timeout_seconds=values.get("timeout"),
    )


def not_realtime(
    model: str,
    providers: Mapping[str, ProviderSpec],
    key: str,
    source: str,
    base_model: object = None,
) -> str | None:
    """Why an entry that does not say its mode is no realtime model (None: it is one, by
    an installed provider's list, or by the ``model_info.base_model`` it names). A near
    miss of a realtime model's id is warned about: a typo would otherwise pass for a chat
    model."""
    prefix, sep, model_id = model.partition("/")
    by_prefix = [s for s in providers.values() if prefix in s.model_prefixes or prefix == s.name]
    if isinstance(base_model, str) and by_prefix:
        base = base_model.rpartition("/")[2]
        if "realtime" in base.lower() or any(s.realtime_without_mode(base) for s in by_prefix):
            return None
    if not sep or not by_prefix:
        if "realtime" in model_id.lower():
            return None  # meant as a realtime model: the error says which plugin is missing
        return f"{model}: no installed provider serves {prefix + '/' if sep else model!r}"
    if any(s.realtime_without_mode(model_id) for s in by_prefix):
        return None
    known = sorted({m for s in by_prefix for m in (s.default_model, *s.models)})
    near = difflib.get_close_matches(model_id, known, n=1, cutoff=0.85)
    if near:
        log.warning(
            "%s: %s %r is not a realtime model rtcore knows; did you mean %r? The entry is "
            "skipped as a chat model (with model_info.mode: realtime it is an error instead)",
            source,
            key,
            model,
            f"{prefix}/{near[0]}",
        )
    return f"{model}: not a realtime model of provider {by_prefix[0].name!r}"


def _describe(providers: Mapping[str, ProviderSpec]) -> str:
    if not providers:
        return "(none)"
    parts = []
    for spec in providers.values():
        prefixes = ", ".join(f"{p}/..." for p in (*spec.model_prefixes, spec.name))
        parts.append(f"{spec.name} ({prefixes})")
    return "; ".join(parts)


def _environment(section: object, source: str) -> dict[str, str]:
    """LiteLLM's ``environment_variables:``: names and values set in this process's
    environment before the rest of the file is read, so ``os.environ/NAME`` finds them (as
    LiteLLM does, they replace what the environment had). The values are secrets to the
    logs; the names are logged."""
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError(
            source, "environment_variables", f"expected a mapping, got {_kind(section)}"
        )
    values: dict[str, str] = {}
    for name, value in section.items():
        if not isinstance(name, str) or not name or "=" in name:
            raise ConfigError(source, "environment_variables", f"{name!r} is not a variable name")
        if not isinstance(value, str | int | float | bool) or value is None:
            raise ConfigError(
                source, f"environment_variables.{name}", f"expected a string, got {_kind(value)}"
            )
        values[name] = str(value).lower() if isinstance(value, bool) else str(value)
    os.environ.update(values)
    if values:
        log.info("%s: set %s from environment_variables", source, ", ".join(sorted(values)))
    return values


def parse_config(data: object, providers: Mapping[str, ProviderSpec], source: str) -> LoadedConfig:
    """Validate an already-parsed YAML document into the model table."""
    if data is None:
        raise ConfigError(source, None, "the file is empty; it needs a model_list")
    top = _mapping(data, "(top level)", source)
    refuse_misspelt_master_key(source, top)
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
    environment = _environment(top.get("environment_variables"), source)

    raw_list = top.get("model_list")
    if not isinstance(raw_list, list) or not raw_list:
        hint = missing_hint(top, "model_list", KNOWN_SECTIONS) if raw_list is None else ""
        raise ConfigError(
            source,
            "model_list",
            f"expected a non-empty list of models, got {_kind(raw_list)}{hint}",
        )
    models: list[ModelConfig] = []
    places: list[str] = []
    # A file shared with LiteLLM lists chat, embedding and other models too: each entry
    # that is not a realtime model is named once, in one line, with why.
    skipped: list[str] = []
    for index, raw in enumerate(raw_list):
        here = f"model_list[{index}]"
        entry = _mapping(raw, here, source)
        info = _mapping(entry.get("model_info") or {}, f"{here}.model_info", source)
        mode = info.get("mode")
        label = f"{here} {entry.get('model_name', '?')}"
        if mode is not None and mode != "realtime":
            skipped.append(f"{label} (mode {mode})")
            continue
        name = _required(entry, "model_name", here, source, _string, MODEL_ENTRY)
        params = _required(entry, "litellm_params", here, source, _mapping, MODEL_ENTRY)
        model = _required(params, "model", f"{here}.litellm_params", source, _string)
        if mode is None and (
            why := not_realtime(
                model, providers, f"{here}.litellm_params.model", source, info.get("base_model")
            )
        ):
            skipped.append(f"{label} ({why})")
            continue
        params = _mapping(resolve_env(params, f"{here}.litellm_params", source), here, source)
        spec, model_id = match_provider(model, providers, f"{here}.litellm_params.model", source)
        _name_unapplied(entry, info, spec, here, source)
        order = params.get("order")
        if order is not None and (isinstance(order, bool) or not isinstance(order, int)):
            raise ConfigError(source, f"{here}.litellm_params.order", "expected a whole number")
        limits = deployment_limits(params, f"{here}.litellm_params", source)
        rest = {k: v for k, v in params.items() if k not in ("model", "order", *LIMIT_KEYS)}
        deployment = info.get("id")
        models.append(
            ModelConfig(
                name=name,
                provider=spec.name,
                model=model_id,
                params=rest,
                info=info,
                deployment=str(deployment) if deployment is not None else "",
                order=order,
                limits=limits,
            )
        )
        places.append(here)
    if skipped:
        log.info(
            "%s: skipping what is not a realtime model (rtcore serves realtime sessions; an "
            "entry without model_info.mode is a chat model to LiteLLM): %s",
            source,
            "; ".join(skipped),
        )
    if not models:
        raise ConfigError(
            source,
            "model_list",
            "no realtime model: every entry was skipped (see the line above); a realtime "
            "entry names a model an installed provider serves, or says model_info.mode: "
            "realtime",
        )
    models = _name_deployments(models)
    seen = {m.deployment_id: here for m, here in zip(models, places, strict=True)}
    if len(seen) < len(models):
        taken = [m.deployment_id for m in models]
        twice = next(d for d in taken if taken.count(d) > 1)
        raise ConfigError(source, "model_list", f"model_info.id {twice!r} is given to two entries")

    settings = _mapping(top.get("general_settings") or {}, "general_settings", source)
    unapplied(
        source,
        "general_settings",
        [key for key in settings if key not in GENERAL_SETTINGS],
        GENERAL_SETTINGS,
        UNAPPLIED_GENERAL_SETTINGS,
        theirs=LITELLM_GENERAL_SETTINGS,
    )
    master_key = None
    if "master_key" in settings:
        key = "general_settings.master_key"
        master_key = _string(resolve_env(settings["master_key"], key, source), key, source).strip()
    files: dict[str, str | None] = {}
    for name in ("ssl_certfile", "ssl_keyfile"):
        key = f"general_settings.{name}"
        value = settings.get(name)
        files[name] = (
            None if value is None else _string(resolve_env(value, key, source), key, source)
        )
    allowed = settings.get("allowed_origins") or []
    if isinstance(allowed, str):
        allowed = [allowed]
    if not isinstance(allowed, list) or not all(isinstance(o, str) for o in allowed):
        raise ConfigError(source, "general_settings.allowed_origins", "expected a list of origins")
    database_url = None
    if "database_url" in settings:
        key = "general_settings.database_url"
        database_url = _string(resolve_env(settings["database_url"], key, source), key, source)
    servers = mcp_servers(resolve_env(top.get("mcp_servers"), "mcp_servers", source), source)
    mcp = mcp_access(servers, settings, source)
    lite = litellm_settings(top.get("litellm_settings"), source)
    routing = router_settings(top.get("router_settings"), source)
    names = {m.name for m in models}
    for name, targets in routing.fallbacks.items():
        for target in (name, *targets):
            if target not in names:
                raise ConfigError(
                    source,
                    f"router_settings.fallbacks.{name}",
                    f"no model_list entry is named {target!r} (models: {', '.join(sorted(names))})",
                )
    return LoadedConfig(
        models=models,
        environment=environment,
        routing=routing,
        metrics_require_key=lite.metrics_require_key,
        json_logs=lite.json_logs,
        callbacks=lite.callbacks,
        master_key=master_key,
        database_url=database_url,
        origins=seen,
        allowed_origins=tuple(allowed),
        mcp=mcp,
        **files,
    )


def _required[T](
    section: dict[str, object],
    key: str,
    where: str,
    source: str,
    check: Callable[[object, str, str], T],
    known: frozenset[str] = frozenset(),
) -> T:
    """``section[key]`` checked by ``check``; when it is missing and another key of the
    section is that key misspelt (the closest to it among ``known``), the error says which."""
    here = f"{where}.{key}"
    if key not in section:
        hint = missing_hint(section, key, known)
        if hint:
            raise ConfigError(source, here, f"missing{hint}")
    return check(section.get(key), here, source)


def _name_unapplied(
    entry: dict[str, object],
    info: dict[str, object],
    spec: ProviderSpec,
    here: str,
    source: str,
) -> None:
    """Name the keys of a model_list entry and of its model_info nobody reads (the
    provider checks its own litellm_params)."""
    unapplied(
        source,
        here,
        [key for key in entry if key not in MODEL_ENTRY],
        MODEL_ENTRY,
        "a model_list entry holds model_name, litellm_params and model_info",
    )
    if spec.model_info_keys is None:
        return
    reads = CORE_MODEL_INFO | set(spec.model_info_keys)
    unapplied(
        source,
        f"{here}.model_info",
        [key for key in info if key not in reads],
        reads,
        f"neither rtcore nor provider {spec.name!r} reads them (they read "
        f"{', '.join(sorted(reads))})",
    )


def _name_deployments(models: list[ModelConfig]) -> list[ModelConfig]:
    """Entries sharing a model_name are deployments of it: each gets an id (its
    model_info.id, else NAME[k] by its place among them)."""
    counts: dict[str, int] = {}
    for m in models:
        counts[m.name] = counts.get(m.name, 0) + 1
    out: list[ModelConfig] = []
    place: dict[str, int] = {}
    for m in models:
        k = place.get(m.name, 0)
        place[m.name] = k + 1
        if counts[m.name] > 1 and not m.deployment:
            m = msgspec.structs.replace(m, deployment=f"{m.name}[{k}]")
        out.append(m)
    return out


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
