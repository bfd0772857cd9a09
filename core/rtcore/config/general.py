"""A config file's ``general_settings`` that are not MCP's (``rtcore.config.mcp``): the
master key, the TLS files, the browser origins allowed and the key store's database, as
LiteLLM's proxy names them. The rest of LiteLLM's are named in a warning as not applied."""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from rtcore.config.errors import ConfigError
from rtcore.config.known_keys import (
    GENERAL_SETTINGS,
    LITELLM_GENERAL_SETTINGS,
    UNAPPLIED_GENERAL_SETTINGS,
    unapplied,
)
from rtcore.config.values import resolve_env, string


class GeneralSettings(msgspec.Struct, frozen=True, kw_only=True):
    master_key: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    database_url: str | None = None
    allowed_origins: tuple[str, ...] = ()


class Text(NamedTuple):
    """How a setting holding one string (an ``os.environ/NAME`` reference allowed) is read."""

    # Null leaves it unset. A master key or database written as null is an error instead:
    # the operator meant one, and without it the server would run open or forget its keys.
    null_unsets: bool = False
    # Surrounding whitespace is no part of it (a key read from a file with its newline).
    stripped: bool = False


TEXTS = {
    "master_key": Text(stripped=True),
    "ssl_certfile": Text(null_unsets=True),
    "ssl_keyfile": Text(null_unsets=True),
    "database_url": Text(),
}


def general_settings(settings: dict[str, object], source: str) -> GeneralSettings:
    unapplied(
        source,
        "general_settings",
        [key for key in settings if key not in GENERAL_SETTINGS],
        GENERAL_SETTINGS,
        UNAPPLIED_GENERAL_SETTINGS,
        theirs=LITELLM_GENERAL_SETTINGS,
    )
    texts: dict[str, str | None] = {}
    for name, how in TEXTS.items():
        key = f"general_settings.{name}"
        if name not in settings or (how.null_unsets and settings[name] is None):
            continue
        value = string(resolve_env(settings[name], key, source), key, source)
        texts[name] = value.strip() if how.stripped else value
    allowed = settings.get("allowed_origins") or []
    if isinstance(allowed, str):
        allowed = [allowed]
    if not isinstance(allowed, list) or not all(isinstance(o, str) for o in allowed):
        raise ConfigError(source, "general_settings.allowed_origins", "expected a list of origins")
    return GeneralSettings(allowed_origins=tuple(allowed), **texts)
