"""The configuration file: LiteLLM's ``config.yaml`` read section by section into the
model table and the settings ``rtcore serve`` runs with.

``loading.py`` reads a file (or ``--provider NAME``) and hands each section to its reader:
``models.py`` the ``model_list``, ``general.py`` and ``mcp.py`` the ``general_settings``,
``sections.py`` the router's and LiteLLM's settings; ``include.py`` merges ``include:``
files, ``known_keys.py`` knows every section's keys (and names misspelt ones),
``values.py`` holds the checks they share and ``errors.py`` the one error they raise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rtcore.config.errors import ConfigError

if TYPE_CHECKING:
    from rtcore.config.loading import (
        LoadedConfig,
        load_config,
        master_key_from_env,
        parse_config,
        provider_models,
    )

__all__ = [
    "ConfigError",
    "LoadedConfig",
    "load_config",
    "master_key_from_env",
    "parse_config",
    "provider_models",
]

_LOADER = frozenset(__all__) - {"ConfigError"}


def __getattr__(name: str) -> object:
    # The loader (and YAML with it) is imported when first asked for: the settings' types
    # (``rtcore.config.sections``) are imported by ``rtcore --help``, which reads no file.
    if name in _LOADER:
        from rtcore.config import loading

        return getattr(loading, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
