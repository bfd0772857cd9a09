"""Alembic's environment: run on the connection ``rtcore.keys.migrate`` hands over (the
store's own engine, async or not), never from a URL in a file."""

from __future__ import annotations

from alembic import context

from rtcore.keys.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
