"""Ephemeral client secrets: what a browser or phone holds instead of an API key.

A server with a real key mints one (``POST /v1/realtime/client_secrets``, or the beta
``POST /v1/realtime/sessions``) and hands it to its client, which presents it as the Bearer
of ``/v1/realtime/calls`` or of the WebSocket. A secret opens **one** session, before it
expires (10 s to 2 h; 10 min by default, 1 min for the beta route, as OpenAI's), as the key
that minted it (a virtual key's limits and budget apply), configured by the ``session``
object it was minted with. Expired, used or unknown, it is refused with 401.

Where there is a key store (a master key is set), secrets live in its database, so that
any replica or worker takes one minted by another; without one, in this process.
"""

from __future__ import annotations

import datetime
import json
import secrets
from typing import Any, Protocol

import msgspec

from rtcore.keys.errors import Refusal
from rtcore.keys.hashing import hash_key

PREFIX = "ek_"
DEFAULT_TTL_SECONDS = 600
BETA_TTL_SECONDS = 60
MIN_TTL_SECONDS = 10
MAX_TTL_SECONDS = 7200


class Minted(msgspec.Struct, frozen=True, kw_only=True):
    value: str
    expires_at: int  # Unix seconds


class Redeemed(msgspec.Struct, frozen=True, kw_only=True):
    """What a secret stands for: the minting key's token (None: the master key) and the
    session it configures."""

    token: str | None
    session: dict[str, Any]

    @property
    def model(self) -> str | None:
        model = self.session.get("model")
        return model if isinstance(model, str) else None


def is_secret(presented: str | None) -> bool:
    return presented is not None and presented.startswith(PREFIX)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def refused(why: str) -> Refusal:
    messages = {
        "unknown": "Incorrect API key provided.",
        "expired": "This client secret has expired; mint a new one.",
        "used": "This client secret has been used already: each opens one session.",
    }
    code = "invalid_api_key" if why == "unknown" else f"client_secret_{why}"
    return Refusal(401, code, messages[why])


class SecretBook(Protocol):
    async def mint(self, token: str | None, ttl: int, session: dict[str, Any]) -> Minted: ...

    async def peek(self, value: str) -> Redeemed | None: ...

    async def redeem(self, value: str, model: str) -> Redeemed:
        """Spend the secret on a session of ``model``, once, or raise ``Refusal``: unknown,
        used, expired, or minted for another model (then it is not spent)."""
        ...


def new_secret(ttl: int) -> tuple[str, datetime.datetime]:
    return PREFIX + secrets.token_urlsafe(24), now() + datetime.timedelta(seconds=ttl)


class MemoryBook:
    """Secrets of this process only (no key store: no master key)."""

    def __init__(self) -> None:
        self._secrets: dict[str, tuple[Redeemed, datetime.datetime, bool]] = {}

    async def mint(self, token: str | None, ttl: int, session: dict[str, Any]) -> Minted:
        moment = now()
        self._secrets = {k: v for k, v in self._secrets.items() if v[1] > moment}
        value, expires = new_secret(ttl)
        self._secrets[hash_key(value)] = (Redeemed(token=token, session=session), expires, False)
        return Minted(value=value, expires_at=int(expires.timestamp()))

    async def peek(self, value: str) -> Redeemed | None:
        found = self._secrets.get(hash_key(value))
        return None if found is None else found[0]

    async def redeem(self, value: str, model: str) -> Redeemed:
        # No await between the checks and the spending: one redemption per secret.
        found = self._secrets.get(hash_key(value))
        if found is None:
            raise refused("unknown")
        redeemed, expires, used = found
        if used:
            raise refused("used")
        if expires <= now():
            raise refused("expired")
        check_model(redeemed, model)
        self._secrets[hash_key(value)] = (redeemed, expires, True)
        return redeemed


def check_model(redeemed: Redeemed, model: str) -> None:
    """Refuse a session of another model than the one the secret was minted for."""
    if redeemed.model is not None and redeemed.model != model:
        raise Refusal(
            400,
            "model_mismatch",
            f"This client secret was minted for model {redeemed.model!r}, not {model!r}.",
        )


def session_update(redeemed: Redeemed) -> str | None:
    """The secret's session object as the session's first ``session.update`` (its model
    chose the model; the rest configures the session)."""
    config = {k: v for k, v in redeemed.session.items() if k != "model"}
    if not config:
        return None
    return json.dumps({"type": "session.update", "session": config})
