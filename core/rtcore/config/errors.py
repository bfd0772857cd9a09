"""The error every config problem is reported as (the file, the key path, the problem)."""

from __future__ import annotations


class ConfigError(Exception):
    """A config problem, worded for the user: ``FILE: KEY.PATH: what is wrong``."""

    def __init__(self, source: str, key: str | None, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}")
