"""LiteLLM's ``router_settings`` and ``litellm_settings``: what applies to realtime
sessions is taken, the rest is named in a warning (never dropped without a word).

LiteLLM routes each *request* among a model_name's deployments; rtcore routes each
*session*, once, when it opens (a session is bound to one upstream for its life).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal

import msgspec

from rtcore.config.errors import ConfigError
from rtcore.config.known_keys import unapplied

# What the file says is logged under one name, whichever module read it: an operator
# filters on "rtcore.config", not on how the reading is split.
log = logging.getLogger("rtcore.config")

type Strategy = Literal["simple-shuffle", "least-busy"]
STRATEGIES: tuple[Strategy, ...] = ("simple-shuffle", "least-busy")
# LiteLLM's strategies that need per-request figures (tokens per minute, latency, cost):
# sessions fall back to simple-shuffle under them, and a warning says so.
PER_REQUEST_STRATEGIES = frozenset(
    {"usage-based-routing", "usage-based-routing-v2", "latency-based-routing", "cost-based-routing"}
)
DEFAULT_COOLDOWN_SECONDS = 5.0


class Routing(msgspec.Struct, frozen=True, kw_only=True):
    """``strategy``: how the first deployment is picked. ``cooldown_seconds``: a deployment
    that failed to open a session is passed over this long (LiteLLM's ``cooldown_time``).
    ``num_retries``: how many more deployments a session tries when one fails at open
    (None: all of them). ``fallbacks``: for a model name, the model names a session moves
    to when none of its own deployments can serve it (LiteLLM's ``fallbacks``)."""

    strategy: Strategy = "simple-shuffle"
    cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS
    num_retries: int | None = None
    fallbacks: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)


class LiteLLMSettings(msgspec.Struct, frozen=True, kw_only=True):
    metrics_require_key: bool = False
    json_logs: bool = False
    # The logging callbacks named in callbacks, success_callback or failure_callback
    # (besides "prometheus": rtcore's /metrics is always on), in the order first named;
    # plugins serve them (``rtcore.callbacks``).
    callbacks: tuple[str, ...] = ()


def _section(raw: object, name: str, source: str) -> Mapping[str, object]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(source, name, f"expected a mapping, got {type(raw).__name__}")
    return raw


def _number(value: object, key: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(source, key, f"expected a number of 0 or more, got {value!r}")
    return float(value)


def _flag(value: object, key: str, source: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(source, key, f"expected true or false, got {value!r}")
    return value


ROUTER_KEYS = frozenset({"routing_strategy", "cooldown_time", "num_retries", "fallbacks"})
LITELLM_KEYS = frozenset(
    {
        "require_auth_for_metrics_endpoint",
        "json_logs",
        "callbacks",
        "success_callback",
        "failure_callback",
    }
)


def router_settings(raw: object, source: str) -> Routing:
    section = _section(raw, "router_settings", source)
    strategy: Strategy = "simple-shuffle"
    cooldown = DEFAULT_COOLDOWN_SECONDS
    retries: int | None = None
    fallbacks: dict[str, tuple[str, ...]] = {}
    unused: list[str] = []
    for key, value in section.items():
        where = f"router_settings.{key}"
        if key == "fallbacks":
            fallbacks = _fallbacks(value, where, source)
        elif key == "routing_strategy":
            if value in STRATEGIES:
                strategy = value
            elif value in PER_REQUEST_STRATEGIES:
                log.warning(
                    "%s: %s %r weighs single requests; sessions are routed by "
                    "simple-shuffle instead (supported: %s)",
                    source,
                    where,
                    value,
                    ", ".join(STRATEGIES),
                )
            else:
                raise ConfigError(
                    source, where, f"unknown strategy {value!r}; supported: {', '.join(STRATEGIES)}"
                )
        elif key == "cooldown_time":
            cooldown = _number(value, where, source)
        elif key == "num_retries":
            retries = int(_number(value, where, source))
        else:
            unused.append(key)
    unapplied(
        source,
        "router_settings",
        unused,
        ROUTER_KEYS,
        "rtcore routes sessions, not requests (routing_strategy, cooldown_time, "
        "num_retries and fallbacks apply); per-request settings do not",
    )
    return Routing(
        strategy=strategy, cooldown_seconds=cooldown, num_retries=retries, fallbacks=fallbacks
    )


def check_fallbacks(routing: Routing, names: set[str], source: str) -> None:
    """Every model a fallback names, and that falls back, is a model_list entry's."""
    for name, targets in routing.fallbacks.items():
        for target in (name, *targets):
            if target not in names:
                raise ConfigError(
                    source,
                    f"router_settings.fallbacks.{name}",
                    f"no model_list entry is named {target!r} (models: {', '.join(sorted(names))})",
                )


def _fallbacks(value: object, where: str, source: str) -> dict[str, tuple[str, ...]]:
    """LiteLLM's shape: a list of one-key mappings, model name to the names it falls
    back to, in order (``[{"voice": ["voice-backup"]}]``)."""
    shape = 'a list like [{"MODEL": ["FALLBACK", ...]}]'
    if not isinstance(value, list):
        raise ConfigError(source, where, f"expected {shape}, got {value!r}")
    out: dict[str, tuple[str, ...]] = {}
    for index, entry in enumerate(value):
        if not isinstance(entry, Mapping):
            raise ConfigError(source, f"{where}[{index}]", f"expected {shape}, got {entry!r}")
        for name, targets in entry.items():
            names = [targets] if isinstance(targets, str) else targets
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ConfigError(
                    source,
                    f"{where}[{index}].{name}",
                    f"expected a list of model names, got {targets!r}",
                )
            out[str(name)] = tuple(n for n in names if n != name)
    return out


def litellm_settings(raw: object, source: str) -> LiteLLMSettings:
    section = _section(raw, "litellm_settings", source)
    metrics_key = json_logs = False
    callbacks: list[str] = []
    unused: list[str] = []
    for key, value in section.items():
        where = f"litellm_settings.{key}"
        if key == "require_auth_for_metrics_endpoint":
            metrics_key = _flag(value, where, source)
        elif key == "json_logs":
            json_logs = _flag(value, where, source)
        elif key in CALLBACK_KEYS:
            for name in _names(value, where, source):
                if name != "prometheus" and name not in callbacks:
                    callbacks.append(name)
        else:
            unused.append(key)
    unapplied(
        source,
        "litellm_settings",
        unused,
        LITELLM_KEYS,
        "they configure LiteLLM's request handling, which realtime sessions in rtcore do "
        "not go through (require_auth_for_metrics_endpoint, json_logs and each callback an "
        "installed plugin serves apply)",
    )
    return LiteLLMSettings(
        metrics_require_key=metrics_key, json_logs=json_logs, callbacks=tuple(callbacks)
    )


# LiteLLM's three spellings: callbacks for both outcomes, or one of them. A realtime session
# has one record however it ended, so each turns the callback on for every session.
CALLBACK_KEYS = ("callbacks", "success_callback", "failure_callback")


def _names(value: object, where: str, source: str) -> list[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError(source, where, f"expected a list of callback names, got {value!r}")
    return names
