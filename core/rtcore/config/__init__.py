"""The configuration file: LiteLLM's ``config.yaml`` read section by section into the
model table and the settings ``rtcore serve`` runs with.

``loading.py`` reads a file (or ``--provider NAME``) and hands each section to its reader:
``models.py`` the ``model_list``, ``general.py`` and ``mcp.py`` the ``general_settings``,
``sections.py`` the router's and LiteLLM's settings; ``include.py`` merges ``include:``
files, ``known_keys.py`` knows every section's keys (and names misspelt ones),
``values.py`` holds the checks they share and ``errors.py`` the one error they raise.
"""

from rtcore.config.errors import ConfigError
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
