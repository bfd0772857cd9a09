"""One client connection: frames in, frames out, one provider session behind it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from rtcore.dialect import Dialect
from rtcore.failover import Deployments
from rtcore.keys.usage import Meter
from rtcore.lifecycle import Lifecycle
from rtcore.mcp.jobs import Result as McpResult
from rtcore.mcp.runner import McpRunner
from rtcore.mcp.spec import McpAccess
from rtcore.moves import failure_of, ring
from rtcore.protocol.codec import ClientDecoder, ServerEncoder
from rtcore.protocol.errors import RealtimeError
from rtcore.provider import (
    ModelConfig,
    Prices,
    Provider,
    ProviderSession,
    ProviderUnavailable,
    ReportsConnected,
    SettingRefused,
)
from rtcore.provider import messages as n
from rtcore.session.machine import SESSION_LIFETIME_S, RealtimeSession
from rtcore.session.media import MediaSink
from rtcore.telemetry.session_metrics import session_metrics
from rtcore.upstream_reader import UpstreamReader

log = logging.getLogger(__name__)

# Enough for several seconds of audio deltas; beyond it a slow client slows the provider
# reader down (backpressure) rather than growing memory without bound.
OUTGOING_QUEUE_FRAMES = 512
_CLOSE = b""
# The last word to a client of a draining server is bounded too: one that reads nothing is
# not waited for past this.
FAREWELL_SECONDS = 2.0
SHUTTING_DOWN = "server_shutting_down"


class Connection(UpstreamReader):
    """Transports use exactly four things:

    - ``async with connection.running():`` (done by ``Gateway.connect``),
    - ``await connection.receive(frame)`` for each client frame (``str`` for a text frame,
      ``bytes`` for a binary one, which gets an ``invalid_event`` error),
    - ``async for data in connection.outgoing():`` UTF-8 JSON server events, one per item,
      to be sent as text frames / JSON lines; ends when the session is over,
    - ``await connection.finish()`` when the client will send nothing more (stdio EOF):
      the response in flight completes, then ``outgoing()`` ends.
    """

    def __init__(
        self,
        *,
        model: ModelConfig,
        provider: Provider,
        dialect: Dialect | None,
        default_dialect: Dialect,
        max_message_bytes: int,
        pcm16_input_rate: int | None = None,
        closing: set[asyncio.Task[None]] | None = None,
        lifetime_seconds: int = SESSION_LIFETIME_S,
        meter: Meter | None = None,
        deployments: Deployments | None = None,
        media: MediaSink | None = None,
        mcp: McpAccess | None = None,
    ) -> None:
        self.model = model
        self.life = Lifecycle()
        self._init_moves(model, deployments)
        self.meter = meter if meter is not None else Meter(Prices())
        # Where this connection's wind-down is kept while it runs (the gateway's set, so a
        # shutdown waits for it even when the transport's handler was cancelled).
        self._closing = closing if closing is not None else set()
        self.provider = provider
        self.session = RealtimeSession(
            model=model.name,
            caps=provider.capabilities,
            dialect=dialect,
            default_dialect=default_dialect,
            pcm16_input_rate=pcm16_input_rate,
            lifetime_seconds=lifetime_seconds,
            media=media,
            mcp=mcp,
        )
        # The session's MCP servers, worked in tasks of their own (never the audio path's).
        self._mcp = McpRunner(mcp or McpAccess(), self._mcp_result, self.meter.mcp_call)
        # Spend logs, log lines and the client name the session alike.
        self.meter.request_id = self.session.settings.id
        self.metrics = session_metrics(model.name, self.meter)
        self._decoder = ClientDecoder(max_message_bytes)
        self._encoder = ServerEncoder()
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(OUTGOING_QUEUE_FRAMES)
        # Copies of the outgoing events for attached controllers (a WebRTC call's sideband).
        self._taps: list[asyncio.Queue[bytes]] = []
        self._upstream: ProviderSession | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._send_lock = asyncio.Lock()
        # What ended the session from the provider's side (a transport closes accordingly).
        self.failure: n.ProviderError | None = None
        # What makes the session's charge final (the gateway writes its record): awaited
        # before a session its budget ended is closed, so that once the client sees the
        # close, its key's next session is refused.
        self.settle: Callable[[], Awaitable[None]] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def _open(self) -> ProviderSession:
        """Open the session upstream, failing over to the next deployment when one
        cannot: all before the client hears of the session, so none of its input is lost.
        With a deployment left to try, the session is asked to prove its upstream open
        (``connected()``, where a provider has it) rather than to fail on first use."""
        candidates = self.deployments.first() if self.deployments is not None else [self.model]
        if not candidates:
            raise ProviderUnavailable(
                f"Model {self.model.name!r} is at its limit of sessions (rpm, "
                "max_parallel_requests); try again in a moment.",
                code="rate_limit_exceeded",
            )
        for index, model in enumerate(candidates):
            upstream: ProviderSession | None = None
            try:
                if model is not self.model:
                    self._adopt(model)
                upstream = await self._open_upstream(model, prove=index + 1 < len(candidates))
            except (ProviderUnavailable, SettingRefused) as exc:
                if upstream is not None:
                    await upstream.aclose()
                code, message = failure_of(exc)
                if self.deployments is not None:
                    self.deployments.router.failed(model)
                if index + 1 >= len(candidates):
                    if isinstance(exc, SettingRefused):
                        raise ProviderUnavailable(message) from exc
                    raise
                log.warning(
                    "deployment %s of model %r failed to open the session (%s: %s); trying %s",
                    model.deployment_id,
                    model.name,
                    code,
                    message,
                    candidates[index + 1].deployment_id,
                )
                self.metrics.upstream_error(code)
                continue
            if self.deployments is not None:
                self.deployments.router.opened(model)
            self._preferred = model
            return upstream
        raise AssertionError("no deployment to open")  # pragma: no cover (candidates >= 1)

    async def _open_upstream(
        self, model: ModelConfig, *, prove: bool, given: Sequence[n.Command] = ()
    ) -> ProviderSession:
        """Open the session on ``model``'s provider (``given``: and tell it these; ``prove``:
        and wait for its upstream, where the provider opens it lazily), within the
        deployment's ``timeout``."""
        upstream: ProviderSession | None = None

        async def opening() -> ProviderSession:
            nonlocal upstream
            upstream = await self.provider.open_session(self.session.neutral_config())
            if given:
                await self._deliver(upstream, given)
            if prove and isinstance(upstream, ReportsConnected):
                await upstream.connected()
            return upstream

        limit = model.limits.open_timeout_seconds
        if limit is None:
            return await opening()
        try:
            return await asyncio.wait_for(opening(), limit)
        except TimeoutError:
            if upstream is not None:
                await upstream.aclose()
            raise ProviderUnavailable(
                f"Opening the session on {model.deployment_id} took longer than its "
                f"timeout ({limit:g} s).",
                code="timeout",
            ) from None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        try:
            self._upstream = await self._open()
        except ProviderUnavailable as exc:
            log.warning("provider for model %r unavailable: %s", self.model.name, exc.message)
            self.metrics.upstream_error(exc.code)
            self.failure = n.ProviderError(code=exc.code, message=exc.message, fatal=True)
            self.session.error(RealtimeError(exc.code, exc.message, type="server_error"))
            await self._flush()
            await self._close_outgoing()
            yield
            return
        self.session.created()
        config = self.session.neutral_config()
        self.meter.crossing(config)
        if self.deployments is not None and self.deployments.several:
            self._unheard = ring(config)
        await self._flush()
        reader = asyncio.create_task(self._read_provider(), name="provider-reader")
        expiry = asyncio.create_task(self._expire(), name="session-expiry")
        try:
            yield
        finally:
            expiry.cancel()
            # The upstream's close runs to its end even when the transport's handler is
            # cancelled under it (a server stopping): abandoned half-way, the provider's
            # streams would be torn down by the loop's exit instead.
            winding = asyncio.create_task(self._wind_down(reader), name="session-close")
            self._closing.add(winding)
            winding.add_done_callback(self._closing.discard)
            await asyncio.shield(winding)

    async def _expire(self) -> None:
        """At ``expires_at`` the session ends, as OpenAI's do at their maximum duration:
        an ``error`` saying so, then the close."""
        await asyncio.sleep(max(0.0, self.session.settings.expires_at - time.time()))
        minutes = self.session.lifetime_seconds / 60
        message = f"Your session hit the maximum duration of {minutes:g} minutes."
        self.failure = n.ProviderError(code="session_expired", message=message, fatal=True)
        self.session.error(RealtimeError("session_expired", message))
        await self._flush()
        await self._close_outgoing()

    async def _wind_down(self, reader: asyncio.Task[None]) -> None:
        await self._mcp.aclose()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        if self._upstream is not None:
            if self.deployments is not None:
                self.deployments.router.closed(self.model)
            await self._upstream.aclose()
        await self._close_outgoing()

    # -- client side -----------------------------------------------------------------------

    async def receive(self, frame: str | bytes) -> None:
        await self.life.settled()
        commands: list[n.Command] = []
        try:
            event = self._decoder.decode(frame)
            commands = self.session.handle(event)
            self._mcp.start(self.session.mcp.take_jobs())
        except RealtimeError as err:
            self.session.error(err)
            commands = self.session.take_pending()
        except Exception:
            # A bug in rtcore, not the client's fault: report it as such and keep going.
            log.exception("handling a client event failed")
            self.session.error(
                RealtimeError(
                    "internal_error",
                    "The gateway failed to handle this event; see its log.",
                    type="server_error",
                )
            )
        await self._flush()
        if commands and self._upstream is not None:
            await self._send(self._upstream, commands)

    async def _mcp_result(self, result: McpResult) -> None:
        """An MCP listing or call came back: the session takes it, like a provider event."""
        await self.life.settled()
        if self.life.closed:
            return
        commands = self.session.mcp_result(result)
        self._mcp.start(self.session.mcp.take_jobs())
        await self._flush()
        if commands and self._upstream is not None:
            await self._send(self._upstream, commands)

    async def append_audio(self, pcm: bytes) -> None:
        """Microphone audio of an out-of-band (WebRTC) session: PCM16 mono at its sink's rate."""
        await self.life.settled()
        try:
            commands = self.session.append_media(pcm)
        except RealtimeError as err:
            self.session.error(err)
            commands = []
        await self._flush()
        if commands and self._upstream is not None:
            await self._send(self._upstream, commands)

    async def playback_stopped(self, response_id: str) -> None:
        """The transport played the last of a reply (``output_audio_buffer.stopped``)."""
        if not self.life.closed:
            self.session.playback_stopped(response_id)
            await self._flush()

    async def _send(self, upstream: ProviderSession, commands: Sequence[n.Command]) -> None:
        # Serialised so one batch of commands reaches the provider before the next.
        async with self._send_lock:
            if upstream is not self._upstream and self._upstream is not None:
                # Made for an upstream the session has since left: the new one was given
                # the conversation as it stood, so only the audio (at its rate) and the
                # requests that are not part of it are still news.
                upstream = self._upstream
                commands = self._still_news(commands)
            await self._deliver(upstream, commands)

    async def _deliver(self, upstream: ProviderSession, commands: Sequence[n.Command]) -> None:
        for command in commands:
            if isinstance(command, n.AppendAudio):
                self.meter.audio_in(len(command.pcm))
                if self._unheard is not None:
                    self._unheard.note(command.pcm)  # measured only if asked
            elif isinstance(command, n.Configure):
                # The formats the audio crosses in from now on (the client's format may
                # have changed the provider's).
                self.meter.crossing(command.config)
                self._reformat_ring(command.config)
            elif isinstance(command, n.CommitAudio | n.CreateResponse):
                if isinstance(command, n.CreateResponse):
                    self.meter.response_started(command.response_id)
                self.metrics.turn_ended()
                if self._unheard is not None:
                    self._unheard.acknowledge()
                    if isinstance(command, n.CommitAudio):
                        self._commit(command.item_id, self._unheard)
            elif isinstance(command, n.ClearAudio) and self._unheard is not None:
                self._unheard.clear()
                self._buffer_from = self._unheard.position_ms
            await upstream.send(command)

    def abandon(self, code: str, message: str) -> None:
        """The transport gives up on its client (one that stopped reading, say): the
        session ends for ``code``, its end reason in the records and metrics."""
        if self.failure is None:
            self.failure = n.ProviderError(code=code, message=message, fatal=True)

    async def finish(self) -> None:
        await self._until_idle()
        await self._close_outgoing()

    async def _until_idle(self) -> None:
        while not self.life.closed and not self.session.idle:
            self._idle.clear()
            await self._idle.wait()

    async def shut_down(self, grace_seconds: float) -> None:
        """The server is going away: let the response in flight complete (for at most
        ``grace_seconds``), then tell the client why the session ends and end it. The
        transport closes with "going away" (1001 on a WebSocket)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_seconds):
                await self._until_idle()
        if self.life.closed:
            return
        message = "The server is shutting down; connect again to continue."
        self.failure = n.ProviderError(code=SHUTTING_DOWN, message=message, fatal=True)
        self.session.error(RealtimeError(SHUTTING_DOWN, message, type="server_error"))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FAREWELL_SECONDS):
                await self._flush()
        await self._close_outgoing()

    # -- server side -----------------------------------------------------------------------

    async def _flush(self) -> None:
        for event in self.session.drain():
            if self.life.closed:
                break
            data = self._encoder.encode(event)
            await self._queue.put(data)
            for tap in self._taps:
                self._copy(tap, data)
        if self.session.idle:
            self._idle.set()

    def _copy(self, tap: asyncio.Queue[bytes], data: bytes) -> None:
        try:
            tap.put_nowait(data)
        except asyncio.QueueFull:
            # A controller that reads nothing does not hold the call back: it is let go.
            self._taps.remove(tap)
            tap.get_nowait()
            tap.put_nowait(_CLOSE)

    async def tap(self) -> AsyncIterator[bytes]:
        """Every event the client is sent from now on, for a second reader attached to
        the session (a sideband controller); ends with the session, or when this reader
        falls too far behind."""
        queue: asyncio.Queue[bytes] = asyncio.Queue(OUTGOING_QUEUE_FRAMES)
        self._taps.append(queue)
        try:
            while not self.life.closed or not queue.empty():
                data = await queue.get()
                if not data:
                    return
                yield data
        finally:
            if queue in self._taps:
                self._taps.remove(queue)

    async def _close_outgoing(self) -> None:
        if self.life.close():
            self._idle.set()
            for tap in self._taps:
                with contextlib.suppress(asyncio.QueueFull):
                    tap.put_nowait(_CLOSE)
            # A full queue means the reader is not parked in get(): it sees the connection closed
            # once it has drained what is queued.
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_CLOSE)

    async def outgoing(self) -> AsyncIterator[bytes]:
        while not (self.life.closed and self._queue.empty()):
            data = await self._queue.get()
            if not data:
                return
            yield data
