"""One client connection: frames in, frames out, one provider session behind it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import msgspec

from rtcore.audio import AudioFormat, InputConverter
from rtcore.dialect import Dialect
from rtcore.failover import Deployments, fails_over, voice_for
from rtcore.keys.pricing import prices_for
from rtcore.keys.usage import Meter
from rtcore.kit.replay import InputAudio
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
from rtcore.provider import messages as neutral
from rtcore.session.machine import SESSION_LIFETIME_S, RealtimeSession
from rtcore.session.media import MediaSink
from rtcore.telemetry import context
from rtcore.telemetry.metrics import upstream_switched
from rtcore.telemetry.session_metrics import session_metrics

log = logging.getLogger(__name__)

# Enough for several seconds of audio deltas; beyond it a slow client slows the provider
# reader down (backpressure) rather than growing memory without bound.
OUTGOING_QUEUE_FRAMES = 512
_CLOSE = b""
# The last word to a client of a draining server is bounded too: one that reads nothing is
# not waited for past this.
FAREWELL_SECONDS = 2.0
SHUTTING_DOWN = "server_shutting_down"
# A failed response is held this long for what follows it: when the provider's next word is
# that its session is over (it ends its open responses first), the session fails over and a
# response with nothing out yet is asked again instead of failing.
LOOKAHEAD_SECONDS = 1.0
# Speech a failed upstream took but never answered is sent again to the next (as much as
# this holds).
REPLAY_SECONDS = 30.0


class Connection:
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
    ) -> None:
        self.model = model
        # Where else the session may run: tried in turn when one deployment cannot open
        # it, or fails mid-session (failover).
        self.deployments = deployments
        self._preferred = model
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
        )
        # Spend logs, log lines and the client name the session alike.
        self.meter.request_id = self.session.state.id
        self.metrics = session_metrics(model.name, self.meter)
        self._decoder = ClientDecoder(max_message_bytes)
        self._encoder = ServerEncoder()
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(OUTGOING_QUEUE_FRAMES)
        # Copies of the outgoing events for attached controllers (a WebRTC call's sideband).
        self._taps: list[asyncio.Queue[bytes]] = []
        self._upstream: ProviderSession | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self._send_lock = asyncio.Lock()
        # Cleared while the session moves to another upstream: client events wait, to be
        # handled for the new one.
        self._steady = asyncio.Event()
        self._steady.set()
        # The user's audio the upstream took but has not answered (kept when the session
        # has somewhere to fail over to), and the input rate of audio made before a switch.
        self._unheard: InputAudio | None = None
        self._rate_before = 0
        # Bytes of the user's audio (at the rate it went at) sent again to a new upstream.
        self.replayed_audio = 0
        # Where in ``_unheard`` the client's audio buffer began, and the span of each turn
        # it committed: a turn committed to an upstream that fails before it says a word
        # of it is committed again on the next.
        self._buffer_from = 0.0
        self._committed: dict[str, tuple[float, float]] = {}
        # (reason, from, to) of each move to another deployment.
        self.switches: list[tuple[str, str, str]] = []
        self._failback_tried = 0.0
        # The failed responses that came with the upstream's last failure.
        self._held: list[neutral.ResponseDone] = []
        # What ended the session from the provider's side (a transport closes accordingly).
        self.failure: neutral.ProviderError | None = None
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
                code, message = _failure(exc)
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
        self, model: ModelConfig, *, prove: bool, given: Sequence[neutral.Command] = ()
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

    def _adopt(self, model: ModelConfig) -> None:
        """Run the session on ``model`` from now on: its capabilities, voice, rates and
        prices. ``SettingRefused`` when the model would refuse the session's settings."""
        assert self.deployments is not None
        provider = self.deployments.provider_for(model)
        caps = provider.capabilities
        state = self.session.state
        self.session.adopt(caps, voice_for(state.voice, state.custom_voice, caps, model.info))
        config = self.session.neutral_config()
        if caps.check_config is not None:
            caps.check_config(config)
        self.model, self.provider = model, provider
        self.meter.reprice(prices_for(caps.prices, model.info))
        self.meter.input_rate = config.input_sample_rate
        self.meter.output_rate = config.output_sample_rate

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        try:
            self._upstream = await self._open()
        except ProviderUnavailable as exc:
            log.warning("provider for model %r unavailable: %s", self.model.name, exc.message)
            self.metrics.upstream_error(exc.code)
            self.failure = neutral.ProviderError(code=exc.code, message=exc.message, fatal=True)
            self.session.error(RealtimeError(exc.code, exc.message, type="server_error"))
            await self._flush()
            await self._close_outgoing()
            yield
            return
        self.session.created()
        config = self.session.neutral_config()
        self.meter.input_rate = config.input_sample_rate
        self.meter.output_rate = config.output_sample_rate
        if self.deployments is not None and self.deployments.several:
            self._unheard = InputAudio(config.input_sample_rate, replay_seconds=REPLAY_SECONDS)
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
        await asyncio.sleep(max(0.0, self.session.state.expires_at - time.time()))
        minutes = self.session.lifetime_seconds / 60
        message = f"Your session hit the maximum duration of {minutes:g} minutes."
        self.failure = neutral.ProviderError(code="session_expired", message=message, fatal=True)
        self.session.error(RealtimeError("session_expired", message))
        await self._flush()
        await self._close_outgoing()

    async def _wind_down(self, reader: asyncio.Task[None]) -> None:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        if self._upstream is not None:
            if self.deployments is not None:
                self.deployments.router.closed(self.model)
            await self._upstream.aclose()
        await self._close_outgoing()

    async def _read_provider(self) -> None:
        try:
            while self._upstream is not None:
                turn = await self._pump(self._upstream)
                if turn is None:
                    break
                if isinstance(turn, neutral.ProviderError):
                    if not await self._fail_over(turn):
                        break
                else:
                    await self._switch("failback", None)
        except Exception:
            # A provider bug must not vanish silently: the client hears of it, the log has it.
            log.exception("provider session for model %r failed", self.model.name)
            self.session.error(
                RealtimeError(
                    "provider_error",
                    "The model's session failed unexpectedly; see the gateway log.",
                    type="server_error",
                )
            )
            await self._flush()
        await self._close_outgoing()

    async def _pump(self, upstream: ProviderSession) -> neutral.ProviderError | str | None:
        """Read ``upstream`` until the session ends (None), its upstream fails in a way
        another deployment may not (that failure, its failed responses held in
        ``self._held``), or the session is due back on its preferred deployment
        ("failback")."""
        events = aiter(upstream.events())
        held: list[neutral.ResponseDone] = []
        following: asyncio.Future[neutral.Event | None] | None = None
        try:
            while True:
                if held:
                    following = asyncio.ensure_future(anext(events, None))
                    done, _ = await asyncio.wait({following}, timeout=LOOKAHEAD_SECONDS)
                    if not done and await self._take_all(upstream, held):
                        return None
                    event, following = await following, None
                else:
                    event = await anext(events, None)
                if event is None:
                    await self._take_all(upstream, held)
                    return None
                if self._can_move():
                    if isinstance(event, neutral.ResponseDone) and event.status == "failed":
                        held.append(event)
                        continue
                    if isinstance(event, neutral.ProviderError) and fails_over(event):
                        self._held = held
                        return event
                if await self._take_all(upstream, held) or await self._take(upstream, event):
                    return None
                if isinstance(event, neutral.ResponseDone) and self._failback_due():
                    return "failback"
        finally:
            if following is not None:
                following.cancel()

    async def _take_all(
        self, upstream: ProviderSession, events: list[neutral.ResponseDone]
    ) -> bool:
        taken, events[:] = list(events), []
        for event in taken:
            if await self._take(upstream, event):
                return True
        return False

    async def _take(self, upstream: ProviderSession | None, event: neutral.Event) -> bool:
        """One provider event for the client; True when it ends the session. (``upstream``
        None: the upstream is gone, and is told nothing more.)"""
        said = None
        if self.meter.keep_text and isinstance(event, neutral.ResponseDone):
            response = self.session.responses.get(event.response_id)
            said = response.said() if response is not None else None
        commands = self.session.on_event(event)
        if isinstance(event, neutral.AudioDelta):
            self.meter.audio_out(len(event.pcm))
            self.metrics.audio_out()
        elif isinstance(event, neutral.SpeechStopped):
            self.metrics.turn_ended()
            if self._unheard is not None:
                self._unheard.acknowledge()
        elif isinstance(event, neutral.ResponseStarted):
            self.meter.response_started(event.response_id)
            if self._unheard is not None:
                self._unheard.acknowledge()
        elif isinstance(event, neutral.ResponseDone):
            self.metrics.response_done(event.status)
            self.meter.response_done(
                event, model=self.model.model, deployment=self.model.deployment_id, said=said
            )
        elif isinstance(event, neutral.ProviderError):
            self.metrics.upstream_error(event.code)
        await self._flush()
        if commands and upstream is not None:
            await self._send(upstream, commands)
        if isinstance(event, neutral.ProviderError) and event.fatal:
            self.failure = event
            return True
        if isinstance(event, neutral.ResponseDone) and event.usage is not None:
            self.meter.add_usage(event.usage)
            if self.meter.over_budget():
                # At a turn boundary: the reply that spent the last of it is whole.
                self._budget_spent()
                await self._flush()
                if self.settle is not None:
                    await self.settle()
                return True
        return False

    # -- moving to another deployment ------------------------------------------------------

    def _can_move(self) -> bool:
        return self.deployments is not None and self.deployments.several and not self._closed

    def _failback_due(self) -> bool:
        """Back to the preferred deployment at a turn boundary, once its cooldown is over
        (tried at most once a cooldown)."""
        deployments = self.deployments
        if (
            deployments is None
            or not deployments.failback
            or self.model is self._preferred
            or not self.session.idle
            or deployments.router.cooling(self._preferred)
        ):
            return False
        now = time.monotonic()
        if now - self._failback_tried < deployments.router.routing.cooldown_seconds:
            return False
        self._failback_tried = now
        return True

    async def _fail_over(self, error: neutral.ProviderError) -> bool:
        """The upstream failed for good: move to the next deployment that opens, or end the
        session with the failure (False)."""
        held, self._held = self._held, []
        assert self.deployments is not None
        self.metrics.upstream_error(error.code)
        failed = self.model
        self.deployments.router.failed(failed)
        if await self._switch("failover", error):
            for done in held:
                self.meter.add_usage(done.usage)  # what the failed replies used is charged
                if done.response_id not in self.session.responses:
                    # Failed for the client (not asked again): it ended on the old model.
                    self.metrics.response_done(done.status)
                    self.meter.response_done(
                        done, model=failed.model, deployment=failed.deployment_id
                    )
            return True
        # Nowhere to go: the failure ends the session, as it would have with one deployment.
        for done in held:
            await self._take(None, done)
        await self._take(None, error)
        return False

    async def _switch(self, reason: str, error: neutral.ProviderError | None) -> bool:
        """Move the session to another deployment (``error``: its upstream failed; None:
        back to the preferred one). The new upstream is given the session's settings, its
        conversation, the replies to ask again and the speech the old one never answered;
        what the client sends meanwhile waits. False when no deployment would take it."""
        assert self.deployments is not None
        assert self._upstream is not None
        started = time.monotonic()
        old_model, old_upstream = self.model, self._upstream
        old_rate = self.session.neutral_config().input_sample_rate
        targets = [self._preferred] if error is None else self.deployments.ranked(old_model)
        async with self._send_lock:
            self._steady.clear()
            try:
                if error is not None:
                    self._retire(old_upstream, old_model)
                upstream = await self._open_on(targets)
                if upstream is None:
                    if error is None:
                        self._adopt(old_model)
                    return False
                if error is None:
                    self._retire(old_upstream, old_model)
                self._upstream = upstream
                self._rate_before = old_rate
                await self._hand_over(upstream, error, old_rate)
            finally:
                self._steady.set()
        gap = time.monotonic() - started
        self.switches.append((reason, old_model.deployment_id, self.model.deployment_id))
        upstream_switched(
            self.model.name, reason, old_model.deployment_id, self.model.deployment_id, gap
        )
        why = f" after {error.code}: {error.message}" if error is not None else ""
        log.warning(
            "session moved from %s (%s) to %s (%s) in %.2f s (%s%s)",
            old_model.deployment_id,
            old_model.provider,
            self.model.deployment_id,
            self.model.provider,
            gap,
            reason,
            why,
        )
        return True

    async def _open_on(self, targets: Sequence[ModelConfig]) -> ProviderSession | None:
        assert self.deployments is not None
        for model in targets:
            upstream: ProviderSession | None = None
            tag = context.current()
            if tag is not None:
                # What the new upstream's tasks log and count under.
                context.retag(msgspec.structs.replace(tag, deployment=model.deployment_id))
            try:
                self._adopt(model)
                # The conversation first, before the upstream proves itself open: a model
                # that takes history only as its stream opens (Nova: before any audio)
                # opens with it, rather than taking it for new turns.
                upstream = await self._open_upstream(
                    model, prove=True, given=self.session.history()
                )
            except (ProviderUnavailable, SettingRefused) as exc:
                if upstream is not None:
                    await upstream.aclose()
                self.deployments.router.failed(model)
                code, message = _failure(exc)
                self.metrics.upstream_error(code)
                log.warning(
                    "deployment %s could not take the session over (%s: %s)",
                    model.deployment_id,
                    code,
                    message,
                )
                continue
            self.deployments.router.opened(model)
            return upstream
        return None

    async def _hand_over(
        self, upstream: ProviderSession, error: neutral.ProviderError | None, old_rate: int
    ) -> None:
        again: list[neutral.Command] = []
        if error is not None:
            interrupted = neutral.ResponseError(
                code=error.code,
                message=f"The reply was cut off: {error.message} The session goes on with "
                "another model; ask again.",
            )
            again += self.session.resume_responses(interrupted)
        # (The conversation went first, as the upstream opened.)
        commands: list[neutral.Command] = []
        config = self.session.neutral_config()
        unheard = self._unheard
        if unheard is not None:
            # Committed turns it never heard go before the replies asked again (which may
            # answer them); speech nobody answered yet, after.
            for turn in self._committed.items():
                commands += self._heard_again(unheard, turn, old_rate)
            pcm = b"".join(unheard.unanswered_audio(until_ms=unheard.position_ms))
            self._unheard = InputAudio(config.input_sample_rate, replay_seconds=REPLAY_SECONDS)
            self._buffer_from, self._committed = 0.0, {}
            if pcm:
                self.replayed_audio += len(pcm)
                again.append(neutral.AppendAudio(pcm=_resample(pcm, old_rate, config)))
        commands += again
        await self._flush()
        await self._deliver(upstream, commands)
        await self._flush()

    def _heard_again(
        self, unheard: InputAudio, turn: tuple[str, tuple[float, float]], old_rate: int
    ) -> list[neutral.Command]:
        """A committed turn the failed upstream never said a word of: its audio and its
        commit, for the next (nothing when the turn was heard: the history has it)."""
        item_id, (start, end) = turn
        commit = self.session.recommit(item_id)
        if not commit:
            return []
        pcm = b"".join(unheard.recent(until_ms=end, within_ms=end - start))
        self.replayed_audio += len(pcm)
        config = self.session.neutral_config()
        return [neutral.AppendAudio(pcm=_resample(pcm, old_rate, config)), *commit]

    def _retire(self, upstream: ProviderSession, model: ModelConfig) -> None:
        """Close an upstream the session left, in the background (its close may wait on
        a connection that is gone)."""
        if self.deployments is not None:
            self.deployments.router.closed(model)
        closing = asyncio.create_task(upstream.aclose(), name="upstream-retire")
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    # -- client side -----------------------------------------------------------------------

    async def receive(self, frame: str | bytes) -> None:
        if not self._steady.is_set():
            await self._steady.wait()
        commands: list[neutral.Command] = []
        try:
            event = self._decoder.decode(frame)
            commands = self.session.handle(event)
        except RealtimeError as err:
            self.session.error(err)
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

    async def append_audio(self, pcm: bytes) -> None:
        """Microphone audio of an out-of-band (WebRTC) session: PCM16 mono at 48 kHz."""
        if not self._steady.is_set():
            await self._steady.wait()
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
        if not self._closed:
            self.session.playback_stopped(response_id)
            await self._flush()

    async def _send(self, upstream: ProviderSession, commands: Sequence[neutral.Command]) -> None:
        # Serialised so one batch of commands reaches the provider before the next.
        async with self._send_lock:
            if upstream is not self._upstream and self._upstream is not None:
                # Made for an upstream the session has since left: the new one was given
                # the conversation as it stood, so only the audio (at its rate) and the
                # requests that are not part of it are still news.
                upstream = self._upstream
                commands = self._still_news(commands)
            await self._deliver(upstream, commands)

    def _still_news(self, commands: Sequence[neutral.Command]) -> list[neutral.Command]:
        config = self.session.neutral_config()
        out: list[neutral.Command] = []
        for command in commands:
            if isinstance(command, neutral.AppendAudio):
                pcm = _resample(command.pcm, self._rate_before, config)
                out.append(neutral.AppendAudio(pcm=pcm))
            elif isinstance(command, neutral.ClearAudio | neutral.CancelResponse):
                out.append(command)
        return out

    async def _deliver(
        self, upstream: ProviderSession, commands: Sequence[neutral.Command]
    ) -> None:
        for command in commands:
            if isinstance(command, neutral.AppendAudio):
                self.meter.audio_in(len(command.pcm))
                if self._unheard is not None:
                    self._unheard.note(command.pcm)  # measured only if asked
            elif isinstance(command, neutral.Configure):
                # The rates the audio crosses at from now on (the client's format may
                # have changed the provider's).
                self.meter.input_rate = command.config.input_sample_rate
                self.meter.output_rate = command.config.output_sample_rate
            elif isinstance(command, neutral.CommitAudio | neutral.CreateResponse):
                if isinstance(command, neutral.CreateResponse):
                    self.meter.response_started(command.response_id)
                self.metrics.turn_ended()
                if self._unheard is not None:
                    self._unheard.acknowledge()
                    if isinstance(command, neutral.CommitAudio):
                        self._commit(command.item_id, self._unheard)
            elif isinstance(command, neutral.ClearAudio) and self._unheard is not None:
                self._unheard.clear()
                self._buffer_from = self._unheard.position_ms
            await upstream.send(command)

    def _commit(self, item_id: str, unheard: InputAudio) -> None:
        now = unheard.position_ms
        self._committed[item_id] = (self._buffer_from, now)
        self._buffer_from = now
        # Older turns are out of the ring, and no longer worth replaying.
        oldest = now - REPLAY_SECONDS * 1000
        self._committed = {i: t for i, t in self._committed.items() if t[1] > oldest}

    def _budget_spent(self) -> None:
        spent = self.meter.spend
        message = (
            f"Budget has been exceeded! This key's budget ran out during the session "
            f"(this session spent {spent:.6f} USD of the {self.meter.budget_left:.6f} left)."
        )
        self.failure = neutral.ProviderError(code="budget_exceeded", message=message, fatal=True)
        self.session.error(RealtimeError("budget_exceeded", message, type="budget_exceeded"))

    def abandon(self, code: str, message: str) -> None:
        """The transport gives up on its client (one that stopped reading, say): the
        session ends for ``code``, its end reason in the records and metrics."""
        if self.failure is None:
            self.failure = neutral.ProviderError(code=code, message=message, fatal=True)

    async def finish(self) -> None:
        await self._until_idle()
        await self._close_outgoing()

    async def _until_idle(self) -> None:
        while not self._closed and not self.session.idle:
            self._idle.clear()
            await self._idle.wait()

    async def shut_down(self, grace_seconds: float) -> None:
        """The server is going away: let the response in flight complete (for at most
        ``grace_seconds``), then tell the client why the session ends and end it. The
        transport closes with "going away" (1001 on a WebSocket)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_seconds):
                await self._until_idle()
        if self._closed:
            return
        message = "The server is shutting down; connect again to continue."
        self.failure = neutral.ProviderError(code=SHUTTING_DOWN, message=message, fatal=True)
        self.session.error(RealtimeError(SHUTTING_DOWN, message, type="server_error"))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FAREWELL_SECONDS):
                await self._flush()
        await self._close_outgoing()

    # -- server side -----------------------------------------------------------------------

    async def _flush(self) -> None:
        for event in self.session.drain():
            if self._closed:
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
            while not self._closed or not queue.empty():
                data = await queue.get()
                if not data:
                    return
                yield data
        finally:
            if queue in self._taps:
                self._taps.remove(queue)

    async def _close_outgoing(self) -> None:
        if not self._closed:
            self._closed = True
            self._idle.set()
            for tap in self._taps:
                with contextlib.suppress(asyncio.QueueFull):
                    tap.put_nowait(_CLOSE)
            # A full queue means the reader is not parked in get(): it sees ``_closed``
            # once it has drained what is queued.
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_CLOSE)

    async def outgoing(self) -> AsyncIterator[bytes]:
        while not (self._closed and self._queue.empty()):
            data = await self._queue.get()
            if not data:
                return
            yield data


def _failure(exc: ProviderUnavailable | SettingRefused) -> tuple[str, str]:
    if isinstance(exc, ProviderUnavailable):
        return exc.code, exc.message
    return "setting_refused", f"{exc.field}: {exc.message}"


def _resample(pcm: bytes, rate: int, config: neutral.SessionConfig) -> bytes:
    """Audio made at ``rate`` for an upstream that takes ``config.input_sample_rate``."""
    if not rate or rate == config.input_sample_rate:
        return pcm
    converter = InputConverter(AudioFormat("pcm16", rate), config.input_sample_rate)
    return converter.feed(pcm) + converter.flush()
