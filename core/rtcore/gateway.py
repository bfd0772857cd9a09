"""What transports talk to: authentication, the model table, and connections.

A transport calls ``authenticate`` and ``resolve_model`` before it accepts a client (so it
can refuse with a proper HTTP status), then ``connect`` and pumps frames both ways. Who may
open a session (keys, client secrets, room) is ``rtcore.admission``'s, mixed in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from rtcore.admission import Admitting
from rtcore.callbacks import SessionSink
from rtcore.config.mcp import for_caller
from rtcore.config.sections import Routing
from rtcore.connection import Connection
from rtcore.dialect import Dialect
from rtcore.failover import Deployments
from rtcore.http import HttpRoute
from rtcore.keys.caller import Caller
from rtcore.keys.client_secrets import MemoryBook
from rtcore.keys.errors import Refusal
from rtcore.keys.pricing import prices_for
from rtcore.keys.usage import Meter
from rtcore.mcp.spec import McpAccess
from rtcore.protocol.errors import RealtimeError
from rtcore.provider import ModelConfig, Provider, ProviderSpec, ReportsReadiness
from rtcore.routing import Router
from rtcore.session.media import MediaSink
from rtcore.telemetry.context import SessionTag, tagged

if TYPE_CHECKING:
    from rtcore.keys.store import Admission, KeyStore

log = logging.getLogger(__name__)

# How long a stopping gateway waits for sessions still closing their upstream.
CLOSE_WAIT_SECONDS = 10.0


class UnknownModel(LookupError):
    def __init__(self, requested: str | None, available: list[str]) -> None:
        self.requested = requested
        self.available = available
        names = ", ".join(available) or "(none)"
        if requested is None:
            message = f"No model given: add ?model=NAME to the URL. Configured models: {names}."
        else:
            message = f"Model {requested!r} is not configured here. Configured models: {names}."
        super().__init__(message)
        self.message = message


class Gateway(Admitting):
    """The core as transports see it. One per ``rtcore serve`` process."""

    def __init__(
        self,
        models: list[ModelConfig],
        providers: Mapping[str, ProviderSpec],
        *,
        master_key: str | None = None,
        default_dialect: Dialect = Dialect.BETA,
        max_message_bytes: int = 16 * 1024 * 1024,
        session_lifetime_seconds: int = 3600,
        keys: KeyStore | None = None,
        sinks: Sequence[SessionSink] = (),
        routing: Routing | None = None,
        response_text: bool = False,
        mcp: McpAccess | None = None,
    ) -> None:
        # The configured MCP servers and limits; each session gets its caller's share.
        self.mcp = mcp or McpAccess()
        self.session_lifetime_seconds = session_lifetime_seconds
        # Records carry what the model said, for the sinks only (a callback asked for it).
        self._response_text = response_text
        self._sinks = list(sinks)
        # Each model name's deployments, in the config file's order (the first stands for
        # the name: its capabilities, its prices).
        self._groups: dict[str, list[ModelConfig]] = {}
        for m in models:
            self._groups.setdefault(m.name, []).append(m)
        self._router = Router(routing)
        self.keys = keys
        self._memory_secrets = MemoryBook()
        # Sessions another transport may attach to by id (WebRTC calls: ``?call_id=``).
        # Each with its owner (the admission's key hash; None: the master key).
        self._attachable: dict[str, tuple[Connection, str | None]] = {}
        # Endpoints plugins add to the HTTP server (``rtcore_http_routes``), set by serve.
        self.http_routes: list[HttpRoute] = []
        self._specs = providers
        self._master_key = master_key.encode() if master_key else None
        self._providers: dict[str, Provider] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._live: set[Connection] = set()
        self._none_live = asyncio.Event()
        self._none_live.set()
        # Set by ``drain``: no new sessions, readiness says so.
        self.draining = False
        self.default_dialect = default_dialect
        self.max_message_bytes = max_message_bytes

    @property
    def keys(self) -> KeyStore | None:
        """The key store (None: none). Deployment cooldowns are shared through its database
        with every process using it; without one they are this process's own."""
        return self._keys

    @keys.setter
    def keys(self, store: KeyStore | None) -> None:
        self._keys = store
        self._router.shared = store.cooldowns if store is not None else None

    @property
    def requires_key(self) -> bool:
        return self._master_key is not None

    @property
    def model_names(self) -> list[str]:
        return sorted(self._groups)

    @property
    def deployments_configured(self) -> list[ModelConfig]:
        """Every entry of the model table, each name's deployments in config order."""
        return [m for group in self._groups.values() for m in group]

    def check_session(self, model: ModelConfig, session: dict[str, object]) -> Refusal | None:
        """What is wrong with a session object for ``model``, as ``session.update`` would
        say it (a 400 whose param names the field under ``session.``), or None: a client
        secret, or a call's session part, is refused when posted, not once in use."""
        from rtcore.protocol.codec import ClientDecoder
        from rtcore.session.machine import RealtimeSession

        config = {k: v for k, v in session.items() if k != "model"}
        trial = RealtimeSession(
            model=model.name,
            caps=self.provider_for(model).capabilities,
            dialect=None,
            default_dialect=self.default_dialect,
        )
        try:
            trial.handle(
                ClientDecoder().decode(json.dumps({"type": "session.update", "session": config}))
            )
        except RealtimeError as err:
            # The session.update's own param already names its field under ``session.``.
            param = err.param or "session"
            if not param.startswith("session"):
                param = f"session.{param}"
            return Refusal(400, err.code, err.message, param=param)
        return None

    def resolve_model(self, name: str | None) -> ModelConfig:
        """The model a client asked for (its first deployment stands for it)."""
        if name is None and len(self._groups) == 1:
            return next(iter(self._groups.values()))[0]
        if name is None or name not in self._groups:
            raise UnknownModel(name, self.model_names)
        return self._groups[name][0]

    def provider_for(self, model: ModelConfig) -> Provider:
        # Providers are built lazily and shared by the sessions of one deployment, so that
        # an upstream client (and its connection pool) is reused across sessions.
        provider = self._providers.get(model.deployment_id)
        if provider is None:
            provider = self._specs[model.provider].factory(model)
            self._providers[model.deployment_id] = provider
        return provider

    def deployments(self, name: str, model: ModelConfig) -> Deployments:
        """Where a session of model ``name`` may run: its deployments, then its fallbacks'
        (``router_settings.fallbacks``)."""
        groups = [self._groups.get(name, [model])]
        groups += [self._groups[f] for f in self._router.routing.fallbacks.get(name, ())]
        failback = any(m.info.get("failback") is True for m in groups[0])
        return Deployments(self._router, groups, self.provider_for, failback=failback)

    @asynccontextmanager
    async def connect(
        self,
        model: ModelConfig,
        *,
        dialect: Dialect | None = None,
        pcm16_input_rate: int | None = None,
        admission: Admission | None = None,
        peer: str | None = None,
        media: MediaSink | None = None,
    ) -> AsyncIterator[Connection]:
        """Run one client session. ``dialect`` is the transport's explicit hint (header,
        subprotocol, flag); None lets the session decide from the client's first
        ``session.update``, falling back to ``default_dialect``. ``pcm16_input_rate``
        overrides the rate a beta ``"pcm16"`` input format stands for (see docs/audio.md)."""
        deployments = self.deployments(model.name, model)
        first = deployments.first()
        model = first[0] if first else model  # none with room: the session says so
        connection = self._connection(
            model,
            deployments,
            admission,
            dialect=dialect,
            pcm16_input_rate=pcm16_input_rate,
            media=media,
        )
        tag = SessionTag(
            session_id=connection.session.settings.id,
            model=model.name,
            deployment=model.deployment_id,
            key_alias=admission.key_alias if admission is not None else None,
        )
        with tagged(tag):
            self._opened(connection, peer, dialect)
            recording: asyncio.Future[None] | None = None

            def settle() -> Awaitable[None]:
                # Once per session: from the connection, when its budget ended it (the
                # spend committed before the client sees the close), else at its end.
                nonlocal recording
                if recording is None:
                    recording = asyncio.ensure_future(self._record(connection, admission))
                return asyncio.shield(recording)

            connection.settle = settle
            try:
                async with connection.running():
                    if admission is not None and admission.session_update is not None:
                        # A client secret's session: in force before the client's events.
                        await connection.receive(admission.session_update)
                    yield connection
            finally:
                self._live.discard(connection)
                if not self._live:
                    self._none_live.set()
                await settle()

    def _connection(
        self,
        model: ModelConfig,
        deployments: Deployments,
        admission: Admission | None,
        *,
        dialect: Dialect | None,
        pcm16_input_rate: int | None,
        media: MediaSink | None,
    ) -> Connection:
        """A session of ``model`` for the caller ``admission`` stands for: metered at the
        model's prices against the caller's budget and token rate, with the caller's share
        of the MCP servers."""
        provider = self.provider_for(model)
        meter = Meter(
            prices_for(provider.capabilities.prices, model.info),
            budget_left=admission.budget_left if admission is not None else None,
            tokens_per_minute=admission.tokens_per_minute if admission is not None else None,
            tokens_before=admission.tokens_before if admission is not None else 0,
            keep_text=self._response_text,
        )
        return Connection(
            model=model,
            provider=provider,
            deployments=deployments,
            media=media,
            meter=meter,
            dialect=dialect,
            default_dialect=self.default_dialect,
            max_message_bytes=self.max_message_bytes,
            pcm16_input_rate=pcm16_input_rate,
            closing=self._closing,
            lifetime_seconds=self.session_lifetime_seconds,
            mcp=for_caller(
                self.mcp,
                admission.key_alias if admission is not None else None,
                master=admission is None or admission.key_hash is None,
            ),
        )

    def _opened(self, connection: Connection, peer: str | None, dialect: Dialect | None) -> None:
        """Count a session live (``drain`` waits for none to be) and say it opened."""
        self._live.add(connection)
        self._none_live.clear()
        connection.metrics.opened()
        log.info(
            "session opened: model %s, peer %s, dialect %s",
            connection.model.name,
            peer or "?",
            dialect.value if dialect else "auto",
        )

    @contextlib.contextmanager
    def attachable(self, call_id: str, connection: Connection, owner: str | None) -> Iterator[None]:
        """While in this block, ``attached(call_id, caller)`` finds the session for its
        ``owner`` (the ``key_hash`` of the admission that opened it) and the master key: a
        WebRTC call's, for a server that controls it over the WebSocket (OpenAI's
        sideband)."""
        self._attachable[call_id] = (connection, owner)
        try:
            yield
        finally:
            self._attachable.pop(call_id, None)

    def attached(self, call_id: str, caller: Caller) -> Connection | None:
        """The session of ``call_id`` if ``caller`` owns it; None alike when there is no
        such session and when it is another's, so that ids cannot be probed."""
        found = self._attachable.get(call_id)
        if found is None or not caller.owns(found[1]):
            return None
        return found[0]

    @property
    def live_sessions(self) -> int:
        return len(self._live)

    async def drain(self, grace_seconds: float) -> None:
        """Stop taking sessions and end the live ones gracefully: each response in flight
        completes (within ``grace_seconds``), then each client is told the server is
        shutting down. Returns once every session has ended, or at the deadline."""
        self.draining = True
        live = list(self._live)
        log.info(
            "draining: no new sessions; %d live session(s) end after their response "
            "in flight (at most %g s)",
            len(live),
            grace_seconds,
        )
        await asyncio.gather(*(c.shut_down(grace_seconds) for c in live))
        # The transports close their clients now; the sessions' records are written as
        # they end.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_WAIT_SECONDS):
                await self._none_live.wait()

    async def _record(self, connection: Connection, admission: Admission | None) -> None:
        """One record per session, written once it is over: the lease released, the
        spend counted, the plugins told. Never on the audio path."""
        failure = connection.failure
        record = connection.meter.record(
            key_hash=admission.key_hash if admission is not None else None,
            key_alias=admission.key_alias if admission is not None else None,
            model=connection.model.model,
            model_group=connection.model.name,
            deployment=connection.model.deployment_id,
            end_reason=failure.code if failure is not None else "client_closed",
            provider=connection.model.provider,
        )
        connection.metrics.closed(record.end_reason)
        log.info(
            "session ended (%s) after %.1f s: %.1f s of audio in, %.1f s out",
            record.end_reason,
            (record.end_time - record.start_time).total_seconds(),
            record.audio_seconds_in,
            record.audio_seconds_out,
        )
        if self.keys is not None and admission is not None:
            try:
                # Spooled when the store cannot take it now: written once it is back
                # (``finish`` shields its own writing from a cancelled session).
                await self.keys.finish(admission, record.without_text())
            except Exception:
                log.exception("recording session %s failed", record.request_id)
        for sink in self._sinks:
            try:
                result = sink(record)
                if result is not None:
                    await result
            except Exception:  # a plugin's failure is logged, never the session's
                log.exception("a session-ended hook failed for %s", record.request_id)

    @property
    def key_store_problem(self) -> str | None:
        """Why the key store cannot be used now (None: it can, or there is none): virtual
        keys are refused meanwhile, master-key sessions go on."""
        return self.keys.problem if self.keys is not None else None

    async def readiness(self) -> dict[str, str]:
        """Why each model that cannot serve sessions now cannot (empty: all can). Asks
        the providers that can tell (an optional ``readiness()`` returning the reason or
        None); the others count as ready."""
        if self.draining:
            return dict.fromkeys(self.model_names, "the server is shutting down")
        problems: dict[str, str] = {}
        for name in self.model_names:
            # A model is ready when one of its deployments is (sessions fail over).
            found: list[str] = []
            for deployment in self._groups[name]:
                provider = self.provider_for(deployment)
                problem = (
                    await provider.readiness() if isinstance(provider, ReportsReadiness) else None
                )
                if problem is None:
                    break
                found.append(problem)
            else:
                problems[name] = "; ".join(dict.fromkeys(found))
        return problems

    async def aclose(self) -> None:
        """Stop: sessions still closing finish first (bounded), then the providers close."""
        if self._closing:
            _, late = await asyncio.wait(set(self._closing), timeout=CLOSE_WAIT_SECONDS)
            if late:
                log.warning("%d session(s) did not finish closing in time", len(late))
        providers, self._providers = self._providers, {}
        for provider in providers.values():
            await provider.aclose()
        if self.keys is not None:
            await self.keys.aclose()
