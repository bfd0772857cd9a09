"""LiteLLM's database as rtcore finds it: whether a database URL is LiteLLM's (its
``LiteLLM_VerificationToken`` in the URL's schema), and LiteLLM's tables as that
release has them, with rtcore's own schema created beside them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from rtcore.keys.database import CONNECT_TIMEOUT_SECONDS, reason_of
from rtcore.keys.errors import StoreUnavailable
from rtcore.keys.litellm_rows import DAILY_TABLES
from rtcore.keys.locations import async_url

# The schema rtcore's own tables live in, beside LiteLLM's.
RTCORE_SCHEMA = "rtcore"
# The table whose presence says "this is LiteLLM's database".
MARK = "LiteLLM_VerificationToken"
TABLES = (
    "LiteLLM_VerificationToken",
    "LiteLLM_TeamTable",
    "LiteLLM_UserTable",
    "LiteLLM_SpendLogs",
)
# Spend counters of LiteLLM's written when its database has them (newer releases do).
OPTIONAL_TABLES = ("LiteLLM_TeamMembership", "LiteLLM_OrganizationTable")
# Prisma's connection-string parameters: not the driver's. ``schema`` says where
# LiteLLM's tables are.
_PRISMA_PARAMS = {"schema", "connection_limit", "pool_timeout", "socket_timeout", "pgbouncer"}


def split_url(url: str) -> tuple[str, str | None]:
    """The URL without Prisma's parameters, and the schema it names (``?schema=``)."""
    parsed = sa.make_url(url)
    schema = parsed.query.get("schema")
    plain = parsed.difference_update_query(_PRISMA_PARAMS)
    return (
        plain.render_as_string(hide_password=False),
        schema if isinstance(schema, str) and schema else None,
    )


async def litellm_schema(url: str) -> str | None:
    """The schema that holds LiteLLM's tables at ``url`` (the URL's ``?schema=``, else the
    connection's current schema), or None: not PostgreSQL, or not LiteLLM's database.
    ``StoreUnavailable`` when the database cannot be asked."""
    url = async_url(url)
    if sa.make_url(url).get_backend_name() != "postgresql":
        return None
    plain, schema = split_url(url)
    engine = create_async_engine(plain, connect_args={"timeout": CONNECT_TIMEOUT_SECONDS})
    try:
        async with engine.connect() as conn:
            where = schema or (await conn.execute(sa.text("SELECT current_schema()"))).scalar()
            found = (
                await conn.execute(
                    sa.text(
                        "SELECT 1 FROM pg_catalog.pg_tables "
                        "WHERE schemaname = :schema AND tablename = :table"
                    ),
                    {"schema": where, "table": MARK},
                )
            ).scalar()
    except Exception as exc:
        raise StoreUnavailable(reason_of(exc)) from None
    finally:
        await engine.dispose()
    return str(where) if found else None


class LiteLLMTables:
    """LiteLLM's tables as this database has them (reflected: the columns differ between
    LiteLLM's releases, and only those present are written)."""

    def __init__(self, metadata: sa.MetaData, schema: str) -> None:
        missing = [name for name in TABLES if f"{schema}.{name}" not in metadata.tables]
        if missing:
            raise StoreUnavailable(f"LiteLLM's tables are incomplete: no {', '.join(missing)}")
        self.schema = schema
        self.tokens, self.teams, self.users, self.spend_logs = (
            metadata.tables[f"{schema}.{name}"] for name in TABLES
        )
        self.members, self.organizations = (
            metadata.tables.get(f"{schema}.{name}") for name in OPTIONAL_TABLES
        )
        self.daily = {
            owner: table
            for name, owner in DAILY_TABLES.items()
            if (table := metadata.tables.get(f"{schema}.{name}")) is not None
        }


async def prepare(url: str, schema: str) -> LiteLLMTables:
    """rtcore's schema created if it is not there yet; LiteLLM's tables read."""
    engine = create_async_engine(url, connect_args={"timeout": CONNECT_TIMEOUT_SECONDS})
    metadata = sa.MetaData()
    try:
        async with engine.begin() as conn:
            exists = (
                await conn.execute(
                    sa.text("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = :name"),
                    {"name": RTCORE_SCHEMA},
                )
            ).scalar()
            if not exists:
                try:
                    await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{RTCORE_SCHEMA}"'))
                except sa.exc.DBAPIError as exc:
                    raise StoreUnavailable(
                        f"cannot create rtcore's schema {RTCORE_SCHEMA!r} beside LiteLLM's "
                        f"tables ({reason_of(exc)}): grant this user CREATE on the database, "
                        f"or create the schema for it"
                    ) from None
            wanted = {*TABLES, *OPTIONAL_TABLES, *DAILY_TABLES}
            await conn.run_sync(
                lambda sync: metadata.reflect(
                    sync, schema=schema, only=lambda name, _: name in wanted, resolve_fks=False
                )
            )
    except StoreUnavailable:
        raise
    except Exception as exc:
        raise StoreUnavailable(reason_of(exc)) from None
    finally:
        await engine.dispose()
    return LiteLLMTables(metadata, schema)
