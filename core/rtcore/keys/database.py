"""The key store's database connection, made to fail safe.

A storage fault is an error here, never a signal: SQLite runs with a rollback journal and
no memory-mapped I/O, because the memory-mapped index of WAL mode (``-shm``) turns a file
made read-only or taken away into SIGBUS, which kills the process and every session in it.
Each fault (a database unreachable, read-only, full, its file deleted) is raised as
``StoreUnavailable`` (503) and remembered as ``problem`` until a write succeeds again;
while it lasts, callers are refused at once rather than each waiting on the database.

After a fault the pooled connections are dropped, so that the next try connects afresh: a
PostgreSQL connection does not survive its server's restart, and a SQLite connection
opened while its file was read-only stays read-only. A SQLite file deleted or replaced is
followed: the path is opened again (created and migrated when it is gone, as at a first
start).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from rtcore.keys import migrate
from rtcore.keys.errors import StoreUnavailable

log = logging.getLogger(__name__)

# How long a PostgreSQL connection attempt may take: an unreachable host is a fault to
# report, not a wait of asyncpg's default minute.
CONNECT_TIMEOUT_SECONDS = 10.0
# SQLite writers wait this long for another process's write lock (--workers share a file).
BUSY_TIMEOUT_MS = 30000


def _faults() -> tuple[type[BaseException], ...]:
    """What a database that cannot be used raises: the driver's errors (wrapped by
    SQLAlchemy, or raw from asyncpg while connecting), OS errors, timeouts."""
    import asyncpg  # type: ignore[import-untyped]

    return (
        sa.exc.DBAPIError,
        sa.exc.TimeoutError,
        sqlite3.Error,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        OSError,
        TimeoutError,
    )


def reason_of(exc: BaseException) -> str:
    """A fault in one line, without the SQL SQLAlchemy appends (nor any parameter)."""
    cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None else exc
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


class Database:
    """One engine, its faults translated and its SQLite file followed."""

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        """``schema``: a PostgreSQL schema to keep every table in (the connections' search
        path), when the database is shared with another application (LiteLLM's)."""
        self.dialect = sa.make_url(url).get_backend_name()
        self.path: Path | None = None
        if self.dialect == "sqlite":
            database = sa.make_url(url).database
            if database and database != ":memory:":
                self.path = Path(database).absolute()
        connect_args: dict[str, Any] = (
            {"timeout": BUSY_TIMEOUT_MS / 1000}
            if self.dialect == "sqlite"
            else {"timeout": CONNECT_TIMEOUT_SECONDS}
        )
        if schema is not None:
            connect_args["server_settings"] = {"search_path": schema}
        self.engine = create_async_engine(
            url,
            connect_args=connect_args,
            # A pooled PostgreSQL connection is checked before use: one its server dropped
            # (a restart) is replaced rather than failing the next transaction.
            pool_pre_ping=self.dialect != "sqlite",
        )
        if self.dialect == "sqlite":
            _serialise_sqlite_writers(self.engine)
        self._identity: tuple[int, int] | None = None
        # SQLite takes one transaction at a time (each begins IMMEDIATE): this process's
        # queue here, rather than in SQLite's busy handler, which sleeps in steps of
        # milliseconds between tries. Other processes still meet the busy handler.
        self._turn = asyncio.Lock() if self.dialect == "sqlite" else None
        self._faults = _faults()
        # Why the database cannot be used now (None: it can).
        self.problem: str | None = None

    async def open(self) -> None:
        """Create (SQLite) and migrate the database, and check that it takes writes;
        ``StoreUnavailable`` with the reason when it cannot."""
        if self.path is not None:
            self._check_writable(self.path)
        try:
            await self._migrate()
        except StoreUnavailable:
            raise
        except self._faults as exc:
            raise StoreUnavailable(reason_of(exc)) from exc

    def _check_writable(self, path: Path) -> None:
        """SQLite needs its file and its directory writable (the rollback journal is
        created beside the file at each write)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot create {path.parent}: {exc.strerror}") from None
        if not os.access(path.parent, os.W_OK):
            raise StoreUnavailable(f"the directory {path.parent} is not writable")
        if path.exists() and not os.access(path, os.W_OK):
            raise StoreUnavailable(f"the file {path} is not writable")

    async def _migrate(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(migrate.upgrade)
        if self.path is not None:
            self._identity = _identity(self.path)

    @contextlib.asynccontextmanager
    async def begin(self, *, probe: bool = False) -> AsyncIterator[AsyncConnection]:
        """A write transaction (committed at the end of the block). While ``problem``
        is set it is refused at once, unless it is the probe that finds the database
        back."""
        async with self._using(write=True, probe=probe) as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A read."""
        async with self._using(write=False, probe=False) as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _using(self, *, write: bool, probe: bool) -> AsyncIterator[AsyncConnection]:
        turn: contextlib.AbstractAsyncContextManager[Any] = self._turn or contextlib.nullcontext()
        async with turn:
            if self.problem is not None and not probe:
                raise StoreUnavailable(self.problem)
            try:
                await self._follow_file()
                async with self.engine.begin() if write else self.engine.connect() as conn:
                    yield conn
                if write and self.path is not None and _identity(self.path) != self._identity:
                    # Committed to a file no longer at the path: as good as lost.
                    raise StoreUnavailable(f"the file {self.path} was replaced during a write")
            except StoreUnavailable as exc:
                await self._fault(exc.reason)
                raise
            except sa.exc.IntegrityError:
                raise  # a conflict in the data, for the caller to explain
            except self._faults as exc:
                reason = reason_of(exc)
                await self._fault(reason)
                raise StoreUnavailable(reason) from exc
        if write and self.problem is not None:
            log.warning("the key store is back (it takes writes again)")
            self.problem = None

    async def _fault(self, reason: str) -> None:
        if self.problem is None:
            log.error(
                "the key store is unavailable: %s. Virtual keys are refused (503) until it "
                "is back; master-key sessions go on; session records wait in the spool",
                reason,
            )
        self.problem = reason
        # Fresh connections for the next try (see the module's docstring).
        with contextlib.suppress(Exception):
            await self.engine.dispose()

    async def _follow_file(self) -> None:
        """A SQLite file deleted or replaced since it was opened is opened again (in this
        process's turn: no transaction of its own is under way)."""
        if self.path is None or _identity(self.path) == self._identity:
            return
        gone = _identity(self.path) is None
        log.warning(
            "the key database %s was %s: opening it again%s",
            self.path,
            "deleted" if gone else "replaced",
            " (a new, empty one: its keys and spend logs are lost unless restored from a backup)"
            if gone
            else "",
        )
        await self.engine.dispose()
        self._check_writable(self.path)
        await self._migrate()

    async def dispose(self) -> None:
        await self.engine.dispose()


def _serialise_sqlite_writers(engine: Any) -> None:
    """SQLite transactions that take the write lock when they begin (``BEGIN IMMEDIATE``),
    so that an admission's count-then-insert is never interleaved with another process's.
    A rollback journal (see the module's docstring): several processes share the file
    through its locks; readers wait while a writer commits (``busy_timeout``)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver's own BEGIN, replaced below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA mmap_size=0")
        cursor.execute("PRAGMA journal_mode=DELETE")
        mode = cursor.fetchone()
        if mode is not None and str(mode[0]).lower() != "delete":
            # A WAL database still open in a process of an earlier release: converted
            # by the first start after it stops.
            log.warning(
                "the key database stays in %s mode while another process has it open; "
                "restart every process using it to leave WAL mode",
                mode[0],
            )
        # Every commit synced: a record or a spend acknowledged survives a power cut.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
