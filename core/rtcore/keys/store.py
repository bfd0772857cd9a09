"""The key store: virtual keys, the leases that count a key's live sessions, spend logs
(and, through ``cooldowns``, the deployment cooldowns every process shares).

One per serving process (each ``--workers`` process, each replica), all sharing one
database. A key's parallel limit holds across all of them: admitting a session takes the
key's row lock (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite ``BEGIN IMMEDIATE``, one
writer at a time), counts the key's unexpired leases and adds one. Each process renews its
live sessions' leases every ``lease_seconds / 3``; a process that dies stops renewing, and
its leases no longer count once ``lease_seconds`` have passed. Nothing here runs per audio
chunk: a session costs one admission and one record.

The database may fail (``rtcore.keys.database``): calls are then refused with
``StoreUnavailable`` (503), and each session's record waits in the spool
(``rtcore.keys.spool``) until the store is back; the renewal, a write every few seconds
(every second while the store is down), is what finds it back, and then writes the spool.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import uuid
from pathlib import Path

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from rtcore.keys import durations, rate_limits
from rtcore.keys.cooldowns import CooldownBoard
from rtcore.keys.database import Database
from rtcore.keys.errors import Refusal, StoreUnavailable
from rtcore.keys.hashing import hash_key
from rtcore.keys.key_admin import KeyAdmin
from rtcore.keys.key_standing import label, period_over, usable
from rtcore.keys.locations import async_url, data_dir, default_url
from rtcore.keys.schema import keys, leases
from rtcore.keys.secret_store import DatabaseBook
from rtcore.keys.spend_writer import WRITE_SECONDS, SpendWriter
from rtcore.keys.spool import Spool, default_directory
from rtcore.keys.usage import SessionRecord

# Importers of the store (and its tests) take these from here.
__all__ = ["LEASE_SECONDS", "Admission", "KeyStore", "async_url", "data_dir", "default_url"]

log = logging.getLogger(__name__)

LEASE_SECONDS = 15.0
# While the store is down, how often it is tried again.
RETRY_SECONDS = 1.0
# A process's heartbeat is a lease of this token, which no key has (tokens are SHA-256
# hex); one not renewed for this long is a process gone, and is swept.
HEARTBEAT_TOKEN = ""
FORGOTTEN = datetime.timedelta(hours=1)


class Admission(msgspec.Struct, frozen=True, kw_only=True):
    """A session let in: by the master key (no key hash), or by a virtual key."""

    key_hash: str | None = None
    key_alias: str | None = None
    lease_id: str | None = None
    budget_left: float | None = None
    # The key's tpm_limit, and the tokens its sessions had used in this minute.
    tokens_per_minute: int | None = None
    tokens_before: int = 0
    # Let in by a client secret: the session it was minted with, as a session.update.
    session_update: str | None = None


async def checked_spool(directory: Path | None) -> Spool | None:
    """The spool in ``directory`` (None: no spool), proven to take durable writes, or
    ``StoreUnavailable`` saying why not."""
    spool = Spool(directory) if directory is not None else None
    if spool is not None:
        try:
            await asyncio.to_thread(spool.check)
        except OSError as exc:
            raise StoreUnavailable(
                f"the spool directory {spool.directory} is not writable: {exc.strerror or exc}"
            ) from None
    return spool


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class KeyStore(KeyAdmin, SpendWriter):
    """The key store of one serving process: admissions and their leases here, the admin
    operations (``KeyAdmin``) and the spend writer (``SpendWriter``) mixed in."""

    def __init__(
        self, db: Database, spool: Spool | None, *, lease_seconds: float = LEASE_SECONDS
    ) -> None:
        self._db = db
        self._spool = spool
        self.lease_seconds = lease_seconds
        self.replica = uuid.uuid4().hex
        self._heartbeat_id = f"r:{self.replica}"  # within the lease id's 36 characters
        # The leases of this process's live sessions: the ones it renews.
        self._live_leases: set[str] = set()
        self._recording: set[asyncio.Task[None]] = set()
        self._flushing = asyncio.Lock()
        self._maintaining: asyncio.Task[None] | None = None
        # Deployment cooldowns, shared with every process of the database (the router's).
        self.cooldowns = CooldownBoard(db, self.replica)

    @classmethod
    async def open(
        cls,
        url: str | None = None,
        *,
        lease_seconds: float = LEASE_SECONDS,
        spool_dir: Path | None = None,
    ) -> KeyStore:
        """Connect, migrate to the newest schema, prove the database takes writes, write
        what an earlier run left in the spool, start renewing this process's leases.
        ``StoreUnavailable`` with the reason when the database or the spool cannot be
        used."""
        url = async_url(url or default_url())
        db = Database(url)
        try:
            await db.open()
            spool = await checked_spool(spool_dir or default_directory(url, data_dir()))
            store = cls(db, spool, lease_seconds=lease_seconds)
            await store._heartbeat()
        except BaseException:
            await db.dispose()
            raise
        await store._start()
        return store

    async def _start(self) -> None:
        """What an earlier run left in the spool written (if the store takes it now), the
        upkeep and the shared cooldowns started."""
        with contextlib.suppress(StoreUnavailable):
            await self.flush()
        self._maintaining = asyncio.create_task(self._maintain(), name="key-store-upkeep")
        self.cooldowns.start()

    @property
    def problem(self) -> str | None:
        """Why the store cannot be used now (None: it can)."""
        return self._db.problem

    @property
    def spool_directory(self) -> Path | None:
        return self._spool.directory if self._spool is not None else None

    async def aclose(self) -> None:
        """Stop: the records being written finish (bounded: what does not is in the
        spool for the next start), this process's leases go."""
        if self._maintaining is not None:
            self._maintaining.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintaining
        if self._recording:
            await asyncio.wait(set(self._recording), timeout=WRITE_SECONDS)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5), self._db.begin() as conn:
                await conn.execute(sa.delete(leases).where(leases.c.replica == self.replica))
        await self._db.dispose()

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(RETRY_SECONDS if self.problem else self.lease_seconds / 3)
            try:
                await self._heartbeat()
                if self._spool is not None and self._spool.waiting():
                    await self.flush()
            except StoreUnavailable:
                pass  # logged as the store went; tried again next round
            except Exception:  # a bug must not end the upkeep: leases would lapse
                log.exception("the key store's upkeep failed")

    async def _heartbeat(self) -> None:
        """A write, always: this process's own lease (its heartbeat, a lease of no key)
        and its live sessions' leases renewed. Its success is what ends an outage
        (``problem``). No table of its own: releases before and after this one share a
        database."""
        now = _now()
        until = now + datetime.timedelta(seconds=self.lease_seconds)
        async with self._db.begin(probe=True) as conn:
            beat = await conn.execute(
                sa.update(leases).where(leases.c.id == self._heartbeat_id).values(expires_at=until)
            )
            if beat.rowcount == 0:
                await conn.execute(
                    sa.insert(leases).values(
                        id=self._heartbeat_id,
                        token=HEARTBEAT_TOKEN,
                        replica=self.replica,
                        expires_at=until,
                    )
                )
                # Those of processes gone (each start leaves one behind if it is killed).
                await conn.execute(
                    sa.delete(leases).where(
                        leases.c.token == HEARTBEAT_TOKEN, leases.c.expires_at < now - FORGOTTEN
                    )
                )
            if self._live_leases:
                await conn.execute(
                    sa.update(leases)
                    .where(leases.c.id.in_(sorted(self._live_leases)))
                    .values(expires_at=until)
                )

    # -- sessions -----------------------------------------------------------------------------

    async def standing(self, token: str, model: str | None = None) -> None:
        """Raise ``Refusal`` unless the key known by ``token`` may be used now (not blocked,
        not expired, its budget not spent; allowed ``model`` when one is named), as ``admit``
        would: for the doors that open no session (minting a client secret, a call's
        sideband, hang-up), so nothing is locked or leased."""
        usable(await self._presented(token), _now(), model)

    @property
    def secrets(self) -> DatabaseBook:
        """The client secrets minted here (in the same database, for every replica)."""
        return DatabaseBook(self._db)

    async def admit(self, presented: str, model: str) -> Admission:
        """Let a session of ``model`` in with this virtual key, or raise ``Refusal``."""
        return await self.admit_token(hash_key(presented), model)

    async def admit_token(self, token: str, model: str) -> Admission:
        """``admit`` for a key known by its stored token (a client secret it minted)."""
        now = _now()
        async with self._db.begin() as conn:
            row = (
                (await conn.execute(sa.select(keys).where(keys.c.token == token).with_for_update()))
                .mappings()
                .first()
            )
            if row is None:
                raise Refusal(401, "invalid_api_key", "Incorrect API key provided.")
            spend, budget = usable(row, now, model)
            tokens_before = await rate_limits.admit(conn, row, label(row), now)
            if period_over(row, now):
                # A new budget period: what was spent before it no longer counts.
                await conn.execute(
                    sa.update(keys)
                    .where(keys.c.token == token)
                    .values(
                        spend=0.0, budget_reset_at=now + durations.parse(row["budget_duration"])
                    )
                )
            lease = await self._take_lease(
                conn, token, row["max_parallel_requests"], label(row), now
            )
        self._live_leases.add(lease)
        return Admission(
            key_hash=token,
            key_alias=row["key_alias"],
            lease_id=lease,
            budget_left=None if budget is None else budget - spend,
            tokens_per_minute=row["tpm_limit"],
            tokens_before=tokens_before,
        )

    async def _take_lease(
        self,
        conn: AsyncConnection,
        token: str,
        limit: int | None,
        label: str,
        now: datetime.datetime,
    ) -> str:
        """A lease for one more live session of ``token`` (its expired ones dropped), or
        ``Refusal`` 429 when ``limit`` sessions are live already."""
        await conn.execute(
            sa.delete(leases).where(leases.c.token == token, leases.c.expires_at <= now)
        )
        if limit is not None:
            live = (
                await conn.execute(sa.select(sa.func.count()).where(leases.c.token == token))
            ).scalar_one()
            if live >= limit:
                raise Refusal(
                    429,
                    "max_parallel_requests",
                    f"Max parallel request limit reached: {label} has {live} live "
                    f"session(s) of max_parallel_requests={limit}.",
                    type="rate_limit_error",
                )
        lease = uuid.uuid4().hex
        await conn.execute(
            sa.insert(leases).values(
                id=lease,
                token=token,
                replica=self.replica,
                expires_at=now + datetime.timedelta(seconds=self.lease_seconds),
            )
        )
        return lease

    async def release(self, admission: Admission) -> None:
        """An admission given back unused: its lease goes (no longer renewed, it expires by
        itself if the database cannot be told now)."""
        if admission.lease_id is None:
            return
        self._live_leases.discard(admission.lease_id)
        try:
            async with self._db.begin() as conn:
                await conn.execute(sa.delete(leases).where(leases.c.id == admission.lease_id))
        except StoreUnavailable as exc:
            log.info("an unused session lease is left to expire: %s", exc.reason)

    async def finish(self, admission: Admission, record: SessionRecord) -> None:
        """The session is over: its lease goes, its record and spend are written. The
        record is spooled first, so that a database outage (or a stop half-way) delays it
        and loses nothing. Never raises: what cannot be written now waits in the spool."""
        task = asyncio.ensure_future(self._record(record, admission.lease_id))
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)
        await asyncio.shield(task)
