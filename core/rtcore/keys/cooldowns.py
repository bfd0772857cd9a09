"""Deployment cooldowns shared through the key store's database (``routing.SharedCooldowns``).

A deployment that fails in one process (a ``--workers`` process, a replica) is written as a
row, the deployment and when its cooldown ends (UTC); every process reads the rows every
``REFRESH_SECONDS`` into a view the router reads without waiting. So a deployment failing
in one process is passed over by the others within about ``REFRESH_SECONDS``. Hosts'
clocks are compared: replicas keep them in step (NTP), as any cooldown of seconds allows.

While the database is down, each process goes on with its own cooldowns (the router's); the
failures it saw meanwhile are written once the database is back, if still cooling.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from rtcore.keys.database import Database
from rtcore.keys.errors import StoreUnavailable
from rtcore.keys.schema import cooldowns

log = logging.getLogger(__name__)

# How often a process reads the shared cooldowns: the longest a failure seen elsewhere
# goes unheeded here (one small read per process each time).
REFRESH_SECONDS = 2.0
# The column's size: a longer deployment id (a model_info id) keeps its cooldowns local.
MAX_DEPLOYMENT = 256
# How long one refresh may take before it is given up until the next (a database that
# hangs rather than fails).
ROUND_SECONDS = 10.0


def _moment(wall: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(wall, datetime.UTC)


def _wall(moment: datetime.datetime) -> float:
    # SQLite gives back naive datetimes: they were written in UTC.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


class CooldownBoard:
    """This process's view of the shared cooldowns, and what it has to tell the others."""

    def __init__(
        self, db: Database, replica: str, *, refresh_seconds: float = REFRESH_SECONDS
    ) -> None:
        self._db = db
        self._replica = replica
        self.refresh_seconds = refresh_seconds
        # Deployment id -> when its cooldown ends (time.time()), as last read.
        self._view: dict[str, float] = {}
        # Failures seen here and not written yet.
        self._unsent: dict[str, float] = {}
        # Deployments that opened here: rows ending no later than this are over (deleted,
        # and ignored until then).
        self._over: dict[str, float] = {}
        self._clearing: dict[str, float] = {}
        self._kick = asyncio.Event()
        # One refresh at a time: one that read before another wrote must not replace the
        # later view with its older one.
        self._refreshing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        # Why the cooldowns are this process's own now (None: they are shared).
        self.problem: str | None = None

    # -- routing.SharedCooldowns: never waits ---------------------------------------------------

    def until(self, deployment_id: str) -> float:
        return self._view.get(deployment_id, 0.0)

    def failed(self, deployment_id: str, until: float) -> None:
        if len(deployment_id) > MAX_DEPLOYMENT:
            return
        if until > self._unsent.get(deployment_id, 0.0):
            self._unsent[deployment_id] = until
        self._over.pop(deployment_id, None)
        self._clearing.pop(deployment_id, None)
        self._kick.set()

    def opened(self, deployment_id: str) -> None:
        self._unsent.pop(deployment_id, None)
        seen = self._view.pop(deployment_id, None)
        if seen is not None:
            self._over[deployment_id] = max(seen, self._over.get(deployment_id, 0.0))
            self._clearing[deployment_id] = self._over[deployment_id]
            self._kick.set()

    # -- upkeep ---------------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="shared-cooldowns")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            self._kick.clear()
            try:
                async with asyncio.timeout(ROUND_SECONDS):
                    await self.refresh()
            except StoreUnavailable as exc:
                self._go_local(exc.reason)
            except TimeoutError:
                self._go_local(f"a refresh took more than {ROUND_SECONDS:g} s")
            except Exception as exc:  # a bug must not end the sharing, nor routing
                if self.problem is None:
                    log.exception("refreshing the shared cooldowns failed")
                self._go_local(type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.refresh_seconds):
                    await self._kick.wait()

    def _go_local(self, reason: str) -> None:
        if self.problem is None:
            log.warning(
                "deployment cooldowns are this process's own until the key store is back (%s)",
                reason,
            )
        self.problem = reason

    async def refresh(self) -> None:
        """Write what failed or opened here since the last refresh, read every cooldown
        (``StoreUnavailable`` when the database cannot be used)."""
        async with self._refreshing:
            await self._refresh()

    async def _refresh(self) -> None:
        now = time.time()
        self._unsent = {d: u for d, u in self._unsent.items() if u > now}
        self._over = {d: u for d, u in self._over.items() if u > now}
        unsent, clearing = dict(self._unsent), dict(self._clearing)
        if unsent or clearing:
            async with self._db.begin() as conn:
                await self._write(conn, unsent, clearing, now)
                rows = await self._read(conn, now)
        else:
            async with self._db.connect() as conn:
                rows = await self._read(conn, now)
        for deployment, until in unsent.items():
            if self._unsent.get(deployment) == until:
                del self._unsent[deployment]
        for deployment, until in clearing.items():
            if self._clearing.get(deployment) == until:
                del self._clearing[deployment]
        view: dict[str, float] = {}
        for deployment, moment, replica in rows:
            until = _wall(moment)
            if until <= self._over.get(deployment, 0.0):
                continue  # opened here since: over, whatever the row says yet
            view[deployment] = until
            if replica != self._replica and until > self._view.get(deployment, 0.0) + 1.0:
                log.info(
                    "deployment %s failed in another process: passed over until %s",
                    deployment,
                    moment.strftime("%H:%M:%S UTC"),
                )
        self._view = view
        if self.problem is not None:
            log.info("deployment cooldowns are shared again")
            self.problem = None

    async def _write(
        self,
        conn: AsyncConnection,
        unsent: dict[str, float],
        clearing: dict[str, float],
        now: float,
    ) -> None:
        insert = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
        for deployment, until in unsent.items():
            row = insert(cooldowns).values(
                deployment=deployment, until=_moment(until), replica=self._replica
            )
            # A later end wins: two processes failing at once keep the longer cooldown.
            await conn.execute(
                row.on_conflict_do_update(
                    index_elements=["deployment"],
                    set_={"until": row.excluded.until, "replica": row.excluded.replica},
                    where=cooldowns.c.until < row.excluded.until,
                )
            )
        for deployment, until in clearing.items():
            # Only the cooldown this process knew of: a later failure elsewhere stays.
            await conn.execute(
                sa.delete(cooldowns).where(
                    cooldowns.c.deployment == deployment, cooldowns.c.until <= _moment(until)
                )
            )
        await conn.execute(sa.delete(cooldowns).where(cooldowns.c.until <= _moment(now)))

    async def _read(
        self, conn: AsyncConnection, now: float
    ) -> list[tuple[str, datetime.datetime, str]]:
        result = await conn.execute(
            sa.select(cooldowns.c.deployment, cooldowns.c.until, cooldowns.c.replica).where(
                cooldowns.c.until > _moment(now)
            )
        )
        return [(str(d), u, str(r)) for d, u, r in result.all()]
