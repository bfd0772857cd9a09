"""The key store's spend writer: each ended session's record spooled to disk first, then
written with its spend (and its tokens of this minute) once, by request id; what the
database cannot take now waits in the spool (``rtcore.keys.spool``) and is written by
``flush`` when it is back. Mixed into ``KeyStore``; ``LiteLLMKeyStore`` writes LiteLLM's
rows instead (its own ``_write``)."""

from __future__ import annotations

import asyncio
import logging

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from rtcore.keys import rate_limits
from rtcore.keys.database import Database
from rtcore.keys.errors import StoreUnavailable
from rtcore.keys.rows import record_row
from rtcore.keys.schema import keys, leases, spend_logs
from rtcore.keys.spool import Spool, SpoolEntry
from rtcore.keys.usage import SessionRecord

log = logging.getLogger(__name__)

# How long a session's record may take to write before it is left to the spool's retry.
WRITE_SECONDS = 20.0


class SpendWriter:
    """Mixed into ``KeyStore``: the attributes below are the store's."""

    _db: Database
    _spool: Spool | None
    _live_leases: set[str]
    _recording: set[asyncio.Task[None]]
    _flushing: asyncio.Lock

    async def _record(self, record: SessionRecord, lease_id: str | None) -> None:
        if lease_id is not None:
            self._live_leases.discard(lease_id)
        entry = SpoolEntry(record=record, lease_id=lease_id)
        held = None
        if self._spool is not None:
            try:
                held = await asyncio.to_thread(self._spool.put, entry)
            except OSError as exc:
                log.error(
                    "session %s: its record could not be spooled (%s)", record.request_id, exc
                )
        try:
            async with asyncio.timeout(WRITE_SECONDS):
                await self._write(entry)
        except (StoreUnavailable, TimeoutError) as exc:
            why = exc.reason if isinstance(exc, StoreUnavailable) else "the write timed out"
            if held is None:
                log.error(
                    "recording session %s failed (%s): its record is lost",
                    record.request_id,
                    why,
                )
            else:
                held.release()
                log.warning(
                    "session %s: its record waits in the spool until the key store is back (%s)",
                    record.request_id,
                    why,
                )
            return
        except BaseException:
            if held is not None:
                held.release()
            raise
        if held is not None:
            await asyncio.to_thread(held.done)

    async def flush(self) -> int:
        """Write the records waiting in the spool (their sessions ended while the store
        was down); how many. Stops at the first failure, raising ``StoreUnavailable``."""
        if self._spool is None:
            return 0
        written = 0
        async with self._flushing:
            waiting = self._spool.take()
            while (held := await asyncio.to_thread(next, waiting, None)) is not None:
                try:
                    await self._write(held.entry)
                except BaseException:
                    held.release()
                    raise
                await asyncio.to_thread(held.done)
                written += 1
        if written:
            log.info("wrote %d session record(s) from the spool to the key store", written)
        return written

    async def _write(self, entry: SpoolEntry) -> bool:
        """One record, once: inserted if its request id is not there yet, and the key's
        spend raised in the same transaction only if it was (a record written again, from
        the spool or by another process sharing it, counts once)."""
        record = entry.record
        insert = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
        async with self._db.begin() as conn:
            if entry.lease_id is not None:
                # The key's token now: a /key/regenerate during the session moved its lease
                # (and the key) to the new one, which its spend is charged to.
                moved = (
                    await conn.execute(
                        sa.select(leases.c.token).where(leases.c.id == entry.lease_id)
                    )
                ).scalar()
                if moved is not None and record.key_hash is not None and moved != record.key_hash:
                    record = msgspec.structs.replace(record, key_hash=moved)
                await conn.execute(sa.delete(leases).where(leases.c.id == entry.lease_id))
            result = await conn.execute(
                insert(spend_logs)
                .values(**record_row(record))
                .on_conflict_do_nothing(index_elements=["request_id"])
            )
            inserted = result.rowcount == 1
            if inserted and record.key_hash is not None and record.spend:
                await conn.execute(
                    sa.update(keys)
                    .where(keys.c.token == record.key_hash)
                    .values(spend=keys.c.spend + record.spend)
                )
            if inserted and record.key_hash is not None:
                tpm = (
                    await conn.execute(
                        sa.select(keys.c.tpm_limit).where(keys.c.token == record.key_hash)
                    )
                ).scalar()
                if tpm is not None:
                    await rate_limits.add_tokens(
                        conn, record.key_hash, _tokens(record), record.end_time
                    )
        return inserted


def _tokens(record: SessionRecord) -> int:
    usage = record.usage
    return (
        usage.input_text_tokens
        + usage.input_audio_tokens
        + usage.output_text_tokens
        + usage.output_audio_tokens
    )
