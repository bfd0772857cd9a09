"""Client secrets in the key store's database, shared by every replica and worker."""

from __future__ import annotations

import datetime
from typing import Any

import sqlalchemy as sa

from rtcore.keys.client_secrets import Minted, Redeemed, check_model, new_secret, now, refused
from rtcore.keys.database import Database
from rtcore.keys.hashing import hash_key
from rtcore.keys.schema import client_secrets


def _utc(moment: datetime.datetime) -> datetime.datetime:
    # SQLite hands back naive datetimes: they were written in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


class DatabaseBook:
    """Secrets in the key store's database, shared by every replica and worker."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def mint(self, token: str | None, ttl: int, session: dict[str, Any]) -> Minted:
        value, expires = new_secret(ttl)
        moment = now()
        async with self._db.begin() as conn:
            # Expired secrets are of no use to anyone: swept as new ones are minted.
            await conn.execute(
                sa.delete(client_secrets).where(
                    client_secrets.c.expires_at < moment - datetime.timedelta(hours=1)
                )
            )
            await conn.execute(
                sa.insert(client_secrets).values(
                    secret=hash_key(value),
                    token=token,
                    session=session,
                    expires_at=expires,
                    created_at=moment,
                )
            )
        return Minted(value=value, expires_at=int(expires.timestamp()))

    async def peek(self, value: str) -> Redeemed | None:
        async with self._db.connect() as conn:
            row = (
                (
                    await conn.execute(
                        sa.select(client_secrets).where(client_secrets.c.secret == hash_key(value))
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else Redeemed(token=row["token"], session=dict(row["session"]))

    async def redeem(self, value: str, model: str) -> Redeemed:
        moment = now()
        async with self._db.begin() as conn:
            row = (
                (
                    await conn.execute(
                        sa.select(client_secrets)
                        .where(client_secrets.c.secret == hash_key(value))
                        .with_for_update()
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                raise refused("unknown")
            if row["used_at"] is not None:
                raise refused("used")
            if _utc(row["expires_at"]) <= moment:
                raise refused("expired")
            redeemed = Redeemed(token=row["token"], session=dict(row["session"]))
            # Checked in the row's lock, before it is spent: refused, it stays good.
            check_model(redeemed, model)
            await conn.execute(
                sa.update(client_secrets)
                .where(client_secrets.c.secret == row["secret"])
                .values(used_at=moment)
            )
        return redeemed
