"""Moving a live session to another deployment, the part of a ``Connection`` that does it.

When the upstream fails for good (``failover.fails_over``), or the session is due back on
its preferred deployment (failback), the session is adopted by the next deployment that
opens: the conversation first, then the replies to ask again, the committed turns and the
speech the old upstream never answered; what the client sends meanwhile waits
(``life``, in phase MOVING), and what was made for the old upstream is sent on as far as it is still
news. ``Connection`` runs the reader that decides when; this holds how.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec

from rtcore.audio import AudioFormat, recode
from rtcore.failover import Deployments, voice_for
from rtcore.keys.pricing import prices_for
from rtcore.keys.usage import Meter
from rtcore.kit.audio.input_audio import InputAudio
from rtcore.lifecycle import Lifecycle
from rtcore.mcp.runner import McpRunner
from rtcore.provider import ModelConfig, ProviderSession, ProviderUnavailable, SettingRefused
from rtcore.provider import messages as n
from rtcore.session.machine import RealtimeSession
from rtcore.telemetry import context
from rtcore.telemetry.metrics import upstream_switched
from rtcore.telemetry.session_metrics import SessionMetrics

log = logging.getLogger(__name__)

# Speech a failed upstream took but never answered is sent again to the next (as much as
# this holds).
REPLAY_SECONDS = 30.0


class SessionMoves:
    """Mixed into ``Connection``: the attributes below are the connection's."""

    model: ModelConfig
    deployments: Deployments | None
    session: RealtimeSession
    meter: Meter
    metrics: SessionMetrics
    switches: list[tuple[str, str, str]]
    replayed_audio: int
    _preferred: ModelConfig
    _upstream: ProviderSession | None
    _unheard: InputAudio | None
    _committed: dict[str, tuple[float, float]]
    _buffer_from: float
    _format_before: AudioFormat | None
    _held: list[n.ResponseDone]
    _failback_tried: float
    life: Lifecycle
    _send_lock: asyncio.Lock
    _closing: set[asyncio.Task[None]]
    _mcp: McpRunner

    def _adopt(self, model: ModelConfig) -> None:
        """Run the session on ``model`` from now on: its capabilities, voice, rates and
        prices. ``SettingRefused`` when the model would refuse the session's settings."""
        assert self.deployments is not None
        provider = self.deployments.provider_for(model)
        caps = provider.capabilities
        settings = self.session.settings
        self.session.adopt(caps, voice_for(settings.voice, settings.custom_voice, caps, model.info))
        config = self.session.neutral_config()
        if caps.check_config is not None:
            caps.check_config(config)
        self.model, self.provider = model, provider
        self.meter.reprice(prices_for(caps.prices, model.info))
        self.meter.crossing(config)

    def _init_moves(self, model: ModelConfig, deployments: Deployments | None) -> None:
        # Where else the session may run: tried in turn when one deployment cannot open
        # it, or fails mid-session (failover).
        self.deployments = deployments
        self._preferred = model
        # The user's audio the upstream took but has not answered (kept when the session
        # has somewhere to fail over to), and the input format of audio made before a switch.
        self._unheard = None
        self._format_before = None
        # Bytes of the user's audio (at the rate it went at) sent again to a new upstream.
        self.replayed_audio = 0
        # Where in ``_unheard`` the client's audio buffer began, and the span of each turn
        # it committed: a turn committed to an upstream that fails before it says a word
        # of it is committed again on the next.
        self._buffer_from = 0.0
        self._committed = {}
        # (reason, from, to) of each move to another deployment.
        self.switches = []
        self._failback_tried = 0.0
        # The failed responses that came with the upstream's last failure.
        self._held = []

    if TYPE_CHECKING:

        async def _take(self, upstream: ProviderSession | None, event: n.Event) -> bool: ...

        async def _flush(self) -> None: ...

        async def _open_upstream(
            self, model: ModelConfig, *, prove: bool, given: Sequence[n.Command] = ()
        ) -> ProviderSession: ...

        async def _deliver(
            self, upstream: ProviderSession, commands: Sequence[n.Command]
        ) -> None: ...

    def _can_move(self) -> bool:
        return self.deployments is not None and self.deployments.several and not self.life.closed

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

    async def _fail_over(self, error: n.ProviderError) -> bool:
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

    async def _switch(self, reason: str, error: n.ProviderError | None) -> bool:
        """Move the session to another deployment (``error``: its upstream failed; None:
        back to the preferred one). The new upstream is given the session's settings, its
        conversation, the replies to ask again and the speech the old one never answered;
        what the client sends meanwhile waits. False when no deployment would take it."""
        assert self.deployments is not None
        assert self._upstream is not None
        started = time.monotonic()
        old_model, old_upstream = self.model, self._upstream
        old_format = _input_format(self.session.neutral_config())
        targets = [self._preferred] if error is None else self.deployments.ranked(old_model)
        async with self._send_lock:
            self.life.begin_move()
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
                self._format_before = old_format
                await self._hand_over(upstream, error)
            finally:
                self.life.end_move()
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
                code, message = failure_of(exc)
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

    async def _hand_over(self, upstream: ProviderSession, error: n.ProviderError | None) -> None:
        again: list[n.Command] = []
        self.session.mcp_moved()
        self._mcp.start(self.session.mcp.take_jobs())
        if error is not None:
            interrupted = n.ResponseError(
                code=error.code,
                message=f"The reply was cut off: {error.message} The session goes on with "
                "another model; ask again.",
            )
            again += self.session.resume_responses(interrupted)
        # (The conversation went first, as the upstream opened.)
        commands: list[n.Command] = []
        config = self.session.neutral_config()
        unheard = self._unheard
        if unheard is not None:
            # Committed turns it never heard go before the replies asked again (which may
            # answer them); speech nobody answered yet, after.
            for turn in self._committed.items():
                commands += self._heard_again(unheard, turn)
            pcm = b"".join(unheard.unanswered_audio(until_ms=unheard.position_ms))
            self._unheard = ring(config)
            self._buffer_from, self._committed = 0.0, {}
            if pcm:
                self.replayed_audio += len(pcm)
                again.append(n.AppendAudio(pcm=_recode(pcm, _format_of(unheard), config)))
        commands += again
        await self._flush()
        await self._deliver(upstream, commands)
        await self._flush()

    def _heard_again(
        self, unheard: InputAudio, turn: tuple[str, tuple[float, float]]
    ) -> list[n.Command]:
        """A committed turn the failed upstream never said a word of: its audio and its
        commit, for the next (nothing when the turn was heard: the history has it)."""
        item_id, (start, end) = turn
        commit = self.session.recommit(item_id)
        if not commit:
            return []
        pcm = b"".join(unheard.recent(until_ms=end, within_ms=end - start))
        self.replayed_audio += len(pcm)
        config = self.session.neutral_config()
        return [n.AppendAudio(pcm=_recode(pcm, _format_of(unheard), config)), *commit]

    def _retire(self, upstream: ProviderSession, model: ModelConfig) -> None:
        """Close an upstream the session left, in the background (its close may wait on
        a connection that is gone)."""
        if self.deployments is not None:
            self.deployments.router.closed(model)
        closing = asyncio.create_task(upstream.aclose(), name="upstream-retire")
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    def _still_news(self, commands: Sequence[n.Command]) -> list[n.Command]:
        config = self.session.neutral_config()
        out: list[n.Command] = []
        for command in commands:
            if isinstance(command, n.AppendAudio):
                pcm = _recode(command.pcm, self._format_before, config)
                out.append(n.AppendAudio(pcm=pcm))
            elif isinstance(command, n.ClearAudio | n.CancelResponse):
                out.append(command)
        return out

    def _reformat_ring(self, config: n.SessionConfig) -> None:
        """The audio crosses in another format from now on (a ``session.update``): the
        ring starts again in it, where the old one ended (what the old one held is lost
        to a replay; its measure could not read the new audio)."""
        old = self._unheard
        if old is not None and (old.rate, old.encoding) != (
            config.input_sample_rate,
            config.input_encoding,
        ):
            self._unheard = ring(config, old.position_ms)

    def _commit(self, item_id: str, unheard: InputAudio) -> None:
        now = unheard.position_ms
        self._committed[item_id] = (self._buffer_from, now)
        self._buffer_from = now
        # Older turns are out of the ring, and no longer worth replaying.
        oldest = now - REPLAY_SECONDS * 1000
        self._committed = {i: t for i, t in self._committed.items() if t[1] > oldest}


def failure_of(exc: ProviderUnavailable | SettingRefused) -> tuple[str, str]:
    if isinstance(exc, ProviderUnavailable):
        return exc.code, exc.message
    return "setting_refused", f"{exc.field}: {exc.message}"


def _input_format(config: n.SessionConfig) -> AudioFormat:
    return AudioFormat(config.input_encoding, config.input_sample_rate)


def _format_of(unheard: InputAudio) -> AudioFormat:
    """The format of the audio in the ring (the format it crossed in)."""
    return AudioFormat(unheard.encoding, unheard.rate)


def ring(config: n.SessionConfig, position_ms: float = 0.0) -> InputAudio:
    """The ring of the user's audio as it crosses to the provider ``config`` is for."""
    return InputAudio(
        config.input_sample_rate,
        replay_seconds=REPLAY_SECONDS,
        encoding=config.input_encoding,
        position_ms=position_ms,
        # A move replays whole committed turns, however long ago they were spoken.
        trim=False,
    )


def _recode(pcm: bytes, source: AudioFormat | None, config: n.SessionConfig) -> bytes:
    """Audio made in ``source`` for an upstream that takes ``config``'s input format: a
    G.711 session's bytes decoded for one that takes PCM16, or encoded again for one that
    passes G.711 through."""
    if source is None:
        return pcm
    return recode(pcm, source, _input_format(config))
