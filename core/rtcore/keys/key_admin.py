"""The key admin API's operations, in LiteLLM's ``/key/*`` and ``/spend/logs`` shapes:
generate, info, update, delete, regenerate, block and unblock, list, a key's own info, the
spend log. Mixed into ``KeyStore``; on LiteLLM's database the keys are LiteLLM's to manage
(``LiteLLMKeyStore`` keeps only the spend log and a key's own info)."""

from __future__ import annotations

import datetime
import math
import secrets
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from rtcore.keys import key_fields, rate_limits
from rtcore.keys.database import Database
from rtcore.keys.errors import Refusal, invalid
from rtcore.keys.hashing import hash_key, stored_token
from rtcore.keys.key_standing import usable
from rtcore.keys.queries import query_date, query_int
from rtcore.keys.rows import key_info, spend_row
from rtcore.keys.schema import client_secrets, keys, leases, spend_logs

MAX_DELETE = 1000
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 100


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class KeyAdmin:
    """Mixed into ``KeyStore``: the attribute below is the store's."""

    _db: Database

    async def generate(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A new key: ``key`` when the body gives one (an operator's key carried over),
        else a random one."""
        chosen = body.get("key")
        values = key_fields.checked({k: v for k, v in body.items() if k != "key"}, creating=True)
        key = (
            key_fields.custom_key(chosen)
            if chosen is not None
            else f"sk-{secrets.token_urlsafe(24)}"
        )
        tags = values.pop("tags", None)
        now = _now()
        row = {
            "token": hash_key(key),
            "key_name": f"sk-...{key[-4:]}",
            "spend": 0.0,
            "blocked": False,
            "created_at": now,
            "updated_at": now,
            "models": [],
            "metadata": {},
            "key_alias": None,
            "max_parallel_requests": None,
            "max_budget": None,
            "budget_duration": None,
            "budget_reset_at": None,
            "expires": None,
            "team_id": None,
            "user_id": None,
            "key_type": None,
            "rpm_limit": None,
            "tpm_limit": None,
            **values,
        }
        row["metadata"] = key_fields.with_tags(row["metadata"], tags)
        try:
            async with self._db.begin() as conn:
                await self._check_alias(conn, row.get("key_alias"), None)
                await self._check_unused(conn, row["token"])
                await conn.execute(sa.insert(keys).values(**row))
        except sa.exc.IntegrityError:
            # The same key (or alias) generated at the same moment by another request.
            raise taken() from None
        return {"key": key, **key_info(row)}

    async def info(self, key: str) -> dict[str, Any]:
        async with self._db.connect() as conn:
            row = await self._row(conn, key)
        return {"key": key, "info": key_info(row)}

    async def update(self, body: Mapping[str, Any]) -> dict[str, Any]:
        key = body.get("key")
        if not isinstance(key, str) or not key:
            raise Refusal(400, "invalid_value", "Give the key to update as 'key'.", param="key")
        values = key_fields.checked({k: v for k, v in body.items() if k != "key"}, creating=False)
        tags = values.pop("tags", None)
        async with self._db.begin() as conn:
            row = await self._row(conn, key)
            await self._check_alias(conn, values.get("key_alias"), row["token"])
            if tags is not None:
                values["metadata"] = key_fields.with_tags(
                    values.get("metadata", row["metadata"] or {}), tags
                )
            values["updated_at"] = _now()
            await conn.execute(sa.update(keys).where(keys.c.token == row["token"]).values(**values))
            updated = await self._row(conn, key)
        return {"key": key, **key_info(updated)}

    async def delete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(body) - {"keys", "key_aliases"})
        if unknown:
            raise Refusal(
                400,
                "unknown_parameter",
                f"/key/delete takes 'keys' or 'key_aliases', not {unknown[0][:64]!r}.",
                param=unknown[0][:64],
            )
        given = _strings(body, "keys")
        aliases = _strings(body, "key_aliases")
        if not (given or aliases):
            raise Refusal(
                400, "invalid_value", "Give 'keys' (a list of keys) or 'key_aliases'.", param="keys"
            )
        deleted: list[str] = []
        # One transaction: a key or alias not found deletes none of them.
        async with self._db.begin() as conn:
            for key in given:
                row = await self._row(conn, key)
                await conn.execute(sa.delete(keys).where(keys.c.token == row["token"]))
                await rate_limits.forget(conn, row["token"])
                deleted.append(key)
            for alias in aliases:
                result = await conn.execute(sa.delete(keys).where(keys.c.key_alias == alias))
                if result.rowcount == 0:
                    raise Refusal(404, "key_not_found", f"No key has the alias {alias[:64]!r}.")
                deleted.append(alias)
        return {"deleted_keys": deleted}

    async def regenerate(self, key: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A new secret for the key ``key`` (its token, alias-free): everything else it
        holds stays (limits, spend, live sessions' leases, this minute's counts), with the
        body's fields changed as ``/key/update`` would; ``new_key`` chooses the secret. The
        old secret stops working at once, and so do client secrets minted with it."""
        fields = {k: v for k, v in body.items() if k not in ("key", "new_key")}
        values = key_fields.checked(fields, creating=False)
        tags = values.pop("tags", None)
        chosen = body.get("new_key")
        new = (
            key_fields.custom_key(chosen)
            if chosen is not None
            else f"sk-{secrets.token_urlsafe(24)}"
        )
        token = hash_key(new)
        try:
            async with self._db.begin() as conn:
                row = await self._row(conn, key)
                old = row["token"]
                await self._check_alias(conn, values.get("key_alias"), old)
                await self._check_unused(conn, token)
                if tags is not None:
                    values["metadata"] = key_fields.with_tags(
                        values.get("metadata", row["metadata"] or {}), tags
                    )
                values.update(token=token, key_name=f"sk-...{new[-4:]}", updated_at=_now())
                await conn.execute(sa.update(keys).where(keys.c.token == old).values(**values))
                await conn.execute(
                    sa.update(leases).where(leases.c.token == old).values(token=token)
                )
                await conn.execute(sa.delete(client_secrets).where(client_secrets.c.token == old))
                await rate_limits.move(conn, old, token)
                updated = await self._row(conn, token)
        except sa.exc.IntegrityError:
            raise taken() from None
        info = key_info(updated)
        return {"key": new, "token_id": info.pop("token"), **info}

    async def set_blocked(self, body: Mapping[str, Any], blocked: bool) -> dict[str, Any]:
        """``/key/block`` and ``/key/unblock`` (``{"key": ...}``): the key's fields after."""
        unknown = sorted(set(body) - {"key"})
        if unknown:
            raise Refusal(
                400,
                "unknown_parameter",
                f"This endpoint takes only 'key', not {unknown[0][:64]!r}.",
                param=unknown[0][:64],
            )
        key = body.get("key")
        if not isinstance(key, str) or not key:
            raise Refusal(400, "invalid_value", "Give the key as 'key'.", param="key")
        async with self._db.begin() as conn:
            row = await self._row(conn, key)
            await conn.execute(
                sa.update(keys)
                .where(keys.c.token == row["token"])
                .values(blocked=blocked, updated_at=_now())
            )
            updated = await self._row(conn, key)
        return key_info(updated)

    async def own_info(self, token: str, asked: str | None) -> dict[str, Any]:
        """``/key/info`` as the virtual key ``token`` reads it: its own info (``asked``:
        None, or itself), refused for any other key before that one is looked up (whether
        it exists is not this key's to learn). A key over its budget still reads its own
        (its spend is what it wants to see); a blocked or expired one does not."""
        row = await self._presented(token)
        try:
            usable(row, _now(), None)
        except Refusal as refusal:
            if refusal.code != "budget_exceeded":
                raise
        if asked is not None and stored_token(asked) != token:
            raise Refusal(
                403,
                "forbidden",
                "You are not allowed to access this key's info: a virtual key reads only its own.",
                param="key",
                type="auth_error",
            )
        return {"key": asked or token, "info": key_info(row)}

    async def list_keys(self, query: Mapping[str, str]) -> dict[str, Any]:
        page = query_int(query, "page", 1, MAX_PAGE)
        size = query_int(query, "size", 10, MAX_PAGE_SIZE)
        full = query.get("return_full_object", "false").lower() == "true"
        where: sa.ColumnElement[bool] = sa.true()
        if alias := query.get("key_alias"):
            where = keys.c.key_alias == alias
        for name in ("team_id", "user_id"):
            if value := query.get(name):
                where = sa.and_(where, keys.c[name] == value)
        async with self._db.connect() as conn:
            total = (
                await conn.execute(sa.select(sa.func.count()).select_from(keys).where(where))
            ).scalar_one()
            rows = (
                await conn.execute(
                    sa.select(keys)
                    .where(where)
                    .order_by(keys.c.created_at)
                    .limit(size)
                    .offset((page - 1) * size)
                )
            ).mappings()
            found = [key_info(r) if full else r["token"] for r in rows]
        return {
            "keys": found,
            "total_count": total,
            "current_page": page,
            "total_pages": math.ceil(total / size),
        }

    async def spend_logs(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        select = sa.select(spend_logs).order_by(spend_logs.c.start_time)
        if key := query.get("api_key"):
            # A key, or its hash (what the logs and /key/list show).
            select = select.where(spend_logs.c.api_key == stored_token(key))
        if request_id := query.get("request_id"):
            select = select.where(spend_logs.c.request_id == request_id)
        for name, column, op in (
            ("start_date", spend_logs.c.start_time, "ge"),
            ("end_date", spend_logs.c.start_time, "le"),
        ):
            if (when := query_date(query, name)) is not None:
                select = select.where(column >= when if op == "ge" else column <= when)
        async with self._db.connect() as conn:
            rows = (await conn.execute(select)).mappings().all()
        return [spend_row(r) for r in rows]

    async def _presented(self, token: str) -> Mapping[Any, Any]:
        """The row of the key a caller presented (by its stored token); an unknown one is
        refused as OpenAI refuses a wrong API key."""
        async with self._db.connect() as conn:
            row = (
                (await conn.execute(sa.select(keys).where(keys.c.token == token)))
                .mappings()
                .first()
            )
        if row is None:
            raise Refusal(401, "invalid_api_key", "Incorrect API key provided.")
        return row

    async def _row(self, conn: AsyncConnection, key: str) -> Mapping[Any, Any]:
        row = (
            (await conn.execute(sa.select(keys).where(keys.c.token == stored_token(key))))
            .mappings()
            .first()
        )
        if row is None:
            raise Refusal(404, "key_not_found", "No such key.")
        return row

    async def _check_unused(self, conn: AsyncConnection, token: str) -> None:
        found = (await conn.execute(sa.select(keys.c.token).where(keys.c.token == token))).scalar()
        if found is not None:
            raise taken()

    async def _check_alias(self, conn: AsyncConnection, alias: object, own: str | None) -> None:
        if alias is None:
            return
        found = (
            await conn.execute(sa.select(keys.c.token).where(keys.c.key_alias == alias))
        ).scalar()
        if found is not None and found != own:
            raise Refusal(400, "key_alias_taken", f"A key with the alias {alias!r} exists.")


def taken() -> Refusal:
    return Refusal(
        400,
        "key_exists",
        "A virtual key with this value exists already: choose another 'key', or leave it "
        "out to have one generated.",
        param="key",
    )


def _strings(body: Mapping[str, Any], name: str) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if (
        not isinstance(value, list)
        or len(value) > MAX_DELETE
        or not all(isinstance(v, str) and v for v in value)
    ):
        raise invalid(name, f"a list of at most {MAX_DELETE} non-empty strings")
    return value
