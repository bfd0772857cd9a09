"""Who may open a session, the part of the ``Gateway`` that decides it: the master key, a
virtual key of the key store, a client secret minted for either (or, with no master key,
anyone); and whether a model has room for one more session.

Every door asks ``caller`` first, before the model is looked up, so that a wrong key
learns nothing of the models; ``admit`` then takes the session's lease.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

import msgspec

from rtcore.failover import Deployments
from rtcore.keys.caller import Caller
from rtcore.keys.client_secrets import MemoryBook, Minted, SecretBook, is_secret, session_update
from rtcore.keys.errors import Refusal
from rtcore.keys.hashing import hash_key
from rtcore.provider import ModelConfig

if TYPE_CHECKING:
    from rtcore.keys.store import Admission, KeyStore


def unauthenticated(presented: str | None) -> Refusal:
    if presented is None:
        return Refusal(
            401,
            "invalid_api_key",
            "No API key provided. Send 'Authorization: Bearer KEY', an 'api-key' header, "
            "or the subprotocols 'realtime' and 'openai-insecure-api-key.KEY'.",
        )
    return Refusal(401, "invalid_api_key", "Incorrect API key provided.")


class Admitting:
    """Mixed into ``Gateway``: the attributes below are the gateway's."""

    _master_key: bytes | None
    _keys: KeyStore | None
    _memory_secrets: MemoryBook

    if TYPE_CHECKING:

        def deployments(self, name: str, model: ModelConfig) -> Deployments: ...

    def authenticate(self, presented: str | None) -> bool:
        """True when the key is right, or when no key is configured (any key is accepted,
        as LiteLLM does without a master key). Constant-time comparison."""
        if self._master_key is None:
            return True
        if presented is None:
            return False
        # Header bytes that are not UTF-8 arrive as surrogate escapes: still a wrong key
        # (401), never an encoding error.
        return hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), self._master_key)

    @property
    def secrets(self) -> SecretBook:
        """Where client secrets are kept: the key store's database, else this process."""
        return self._keys.secrets if self._keys is not None else self._memory_secrets

    async def caller(self, presented: str | None) -> Caller:
        """Who presents ``presented``, or ``Refusal``: a wrong or missing key (401
        ``invalid_api_key``), a virtual key (or the one that minted a client secret) that may
        not be used now (blocked, expired, budget spent: LiteLLM's codes). Every door asks
        this first, before the model is looked up (a wrong key learns nothing of the
        models); it takes no lease. A client secret stands for its key here whether used or
        not: the call it opened is its key's."""
        if self._master_key is None:
            return Caller(master=True, secret=is_secret(presented))
        if self.authenticate(presented):
            return Caller(master=True)
        if presented is None:
            raise unauthenticated(presented)
        if is_secret(presented):
            redeemed = await self.secrets.peek(presented)
            if redeemed is None:
                raise unauthenticated(presented)
            if redeemed.token is not None and self._keys is not None:
                await self._keys.standing(redeemed.token)
            return Caller(key_hash=redeemed.token, secret=True)
        if self._keys is None:
            raise unauthenticated(presented)
        token = hash_key(presented)
        await self._keys.standing(token)
        return Caller(key_hash=token)

    async def secret_model(self, presented: str | None) -> str | None:
        """The model a client secret was minted for, if it names one."""
        if not is_secret(presented):
            return None
        assert presented is not None
        redeemed = await self.secrets.peek(presented)
        return redeemed.model if redeemed is not None else None

    async def mint_secret(
        self, caller: Caller, ttl_seconds: int, session: dict[str, object]
    ) -> Minted:
        """A client secret standing for ``caller`` (the master key or a virtual key; anyone
        with no master key), or ``Refusal``: a secret cannot mint another, and a virtual key
        mints only for a model it may open."""
        if caller.secret:
            raise Refusal(401, "invalid_api_key", "A client secret cannot mint another.")
        model = session.get("model")
        if caller.key_hash is not None and self._keys is not None and isinstance(model, str):
            await self._keys.standing(caller.key_hash, model)
        return await self.secrets.mint(caller.key_hash, ttl_seconds, session)

    async def admit(self, presented: str | None, model: ModelConfig) -> Admission:
        """Let a session of ``model`` in, or raise ``Refusal`` (its HTTP status, an
        OpenAI-style error): the master key, else a virtual key of the key store, else,
        with no master key configured, anyone."""
        from rtcore.keys.store import Admission

        if is_secret(presented) and (self._master_key is None or self._keys is not None):
            assert presented is not None
            # Refused for another model before it is spent: it stays good for its own.
            redeemed = await self.secrets.redeem(presented, model.name)
            if redeemed.token is None or self._keys is None:
                admission = Admission()
            else:
                admission = await self._keys.admit_token(redeemed.token, model.name)
            await self._check_room(model, admission)
            return msgspec.structs.replace(admission, session_update=session_update(redeemed))
        if self._master_key is None or self.authenticate(presented):
            admission = Admission()
        elif presented is None or self._keys is None:
            raise unauthenticated(presented)
        else:
            admission = await self._keys.admit(presented, model.name)
        await self._check_room(model, admission)
        return admission

    async def _check_room(self, model: ModelConfig, admission: Admission) -> None:
        """Refuse (429) a session no deployment of the model has room for (their ``rpm``
        and ``max_parallel_requests``), once its caller is known."""
        if self.deployments(model.name, model).room():
            return
        await self.release(admission)
        raise Refusal(
            429,
            "rate_limit_exceeded",
            f"Model {model.name!r} is at its limit of sessions (rpm, max_parallel_requests); "
            "try again in a moment.",
            type="rate_limit_error",
        )

    async def release(self, admission: Admission) -> None:
        """Give back an admission whose session never started (a refused WebRTC offer):
        its lease goes, and nothing is recorded, as nothing was spent."""
        if self._keys is not None:
            await self._keys.release(admission)
