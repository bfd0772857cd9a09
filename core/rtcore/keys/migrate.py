"""Bring a database to the newest schema with Alembic (``migrations/``), on the store's
own connection: zero set-up for SQLite, the same step for PostgreSQL."""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa

# Alembic announces its plugins at INFO as it loads, on every start: not news to an operator.
logging.getLogger("alembic").setLevel(logging.WARNING)

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402

MIGRATIONS = Path(__file__).parent / "migrations"
# Replicas of a fresh deployment start at once, each migrating the same empty database:
# on PostgreSQL they take turns on this advisory lock (held to the end of the migration's
# transaction), and the later ones find the schema at its head. SQLite's writers are
# serialised already (BEGIN IMMEDIATE).
MIGRATION_LOCK = 0x72746373  # "rtcs"


def upgrade(connection: sa.Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
