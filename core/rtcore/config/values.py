"""The checks every section of a config file makes of its values: mappings, non-empty
strings, and ``os.environ/NAME`` references resolved from the environment. Each failure is
a ``ConfigError`` naming the key and what was found instead."""

from __future__ import annotations

import os

from rtcore.config.errors import ConfigError

ENV_PREFIX = "os.environ/"


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


def mapping(value: object, key: str, source: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ConfigError(source, key, f"expected a mapping, got {kind(value)}")
    for k in value:
        if not isinstance(k, str):
            raise ConfigError(source, key, f"keys must be strings, got {k!r}")
    return value


def string(value: object, key: str, source: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(source, key, f"expected a non-empty string, got {kind(value)}")
    return value


def kind(value: object) -> str:
    """What a value is, in the words of an error message."""
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
