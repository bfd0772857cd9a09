"""Where the key store lives: rtcore's data directory, the SQLite file a server uses when
no database is named, and the async driver each database URL needs."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """rtcore's data directory: ``$XDG_DATA_HOME/rtcore``, else ``~/.local/share/rtcore``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rtcore"


def default_url(port: int | None = None) -> str:
    """SQLite in rtcore's data directory, created on first use: ``rtcore-PORT.db`` for the
    server on PORT, so that two servers on one machine never share keys unless told to
    (``rtcore.db`` when no port is given)."""
    name = "rtcore.db" if port is None else f"rtcore-{port}.db"
    return f"sqlite+aiosqlite:///{data_dir() / name}"


def async_url(url: str) -> str:
    """The driver each database needs here, from the URLs operators write
    (``postgresql://…`` as LiteLLM's DATABASE_URL is, ``sqlite:///file``)."""
    for plain, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url
