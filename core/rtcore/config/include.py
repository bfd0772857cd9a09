"""LiteLLM's ``include:``: other YAML files merged into the config, as LiteLLM merges them.

Each file named (relative to the including file's folder) is read in order; a top-level
list it holds extends the same list of the config (``model_list`` entries, most often), any
other value replaces the config's. A file that is missing or not a mapping stops the start
with an error naming it, as LiteLLM's proxy does.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

from rtcore.config.errors import ConfigError

# What the file says is logged under one name, whichever module read it: an operator
# filters on "rtcore.config", not on how the reading is split.
log = logging.getLogger("rtcore.config")


def merge_includes(top: dict[str, Any], base_dir: Path, source: str) -> dict[str, Any]:
    """``top`` with its ``include`` files merged in (and the ``include`` key gone)."""
    if "include" not in top:
        return top
    names = top["include"]
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError(source, "include", f"expected a list of file paths, got {names!r}")
    merged = {k: v for k, v in top.items() if k != "include"}
    for index, name in enumerate(names):
        path = base_dir / name
        where = f"include[{index}]"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(
                source, where, f"cannot read {str(path)!r}: {exc.strerror or exc}"
            ) from None
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(source, where, f"{str(path)!r} is not valid YAML: {exc}") from None
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ConfigError(source, where, f"{str(path)!r} holds no mapping of sections")
        for key, value in data.items():
            if isinstance(value, list) and isinstance(merged.get(key), list):
                merged[key] = [*merged[key], *value]
            else:
                merged[key] = value
    log.info("%s: included %s", source, ", ".join(names))
    return merged
