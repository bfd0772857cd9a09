"""The upstream supervisor: one live stream to a model with session limits, kept alive.

Any upstream whose streams end on their own (after a connection limit, or when the service
announces that it will go away) or break needs the same machinery: open lazily with
backoff, rotate to a fresh stream at a turn boundary before the limit, recover a broken or
stalled stream and replay what it heard but never answered, and hold what is sent
meanwhile in a bounded backlog. This module is that machinery, driven through a small
``UpstreamAdapter`` that knows the model: how to open a stream with the conversation so far,
how to send and read, when a turn is in flight. It keeps an explicit ``UpstreamState``; its
loop sleeps until the next deadline (rotation, stall, the adapter's own) instead of polling.

Its parts: the adapter's protocol, the failure and the policy (``adapter.py``), the pauses
between attempts to open (``backoff.py``), the live stream's deadlines (``lifetime.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from rtcore.kit.upstream import stream_listeners
from rtcore.kit.upstream.adapter import Expires, SupervisorPolicy, UpstreamAdapter, UpstreamFailure
from rtcore.kit.upstream.backlog import Backlog, Builder
from rtcore.kit.upstream.backoff import OpenBackoff
from rtcore.kit.upstream.lifetime import StreamLifetime

log = logging.getLogger(__name__)

# Waiting for a turn boundary that is due: conditions the adapter watches (speech, a reply
# in flight) change without an event, so they are looked at this often.
BOUNDARY_POLL_SECONDS = 0.1


class UpstreamState(enum.Enum):
    IDLE = "idle"  # no stream yet: one opens when something must be sent
    OPENING = "opening"  # the first stream (or one after an idle close) is opening
    OPEN = "open"  # a stream takes what is sent
    SWITCHING = "switching"  # a fresh stream replaces the live one (rotation, restart)
    RECOVERING = "recovering"  # the live stream broke; a fresh one replays what it lost
    CLOSING = "closing"
    CLOSED = "closed"


class UpstreamSupervisor[H]:
    def __init__(
        self,
        adapter: UpstreamAdapter[H],
        policy: SupervisorPolicy,
        *,
        name: str = "upstream",
        session: str = "",
        on_stream_opened: Callable[[str], None] = stream_listeners.stream_opened,
    ) -> None:
        # ``session`` names the client session in the log lines of its streams;
        # ``on_stream_opened`` is told why each stream opened (the service's metrics, by
        # default, through a neutral hook).
        self.session = session
        self._on_stream_opened = on_stream_opened
        self._adapter = adapter
        self.name = name  # what logs and failures call the upstream (the vendor's name)
        self.policy = policy
        self.state = UpstreamState.IDLE
        self.handle: H | None = None
        self._backlog = Backlog()
        # Bytes of the user's audio sent to a stream again because the one that took them
        # went before answering (a mid-turn switch, a recovery): the upstream hears them
        # twice, and an account of the audio it heard must add them.
        self.replayed_audio = 0
        # Client audio on its way to a stream (inside the adapter's send), and whether a
        # recovery measured its replay without it (see ``send``).
        self._in_flight = 0
        self._resend = False
        self._lifetime = StreamLifetime(0.0)  # the live stream's deadlines
        self.last_event = time.monotonic()
        self._open_wanted = False
        self._restart_wanted = False
        self._broken: UpstreamFailure | None = None
        self._recoveries: deque[float] = deque()
        self._stalls = 0
        self._readers: dict[asyncio.Task[None], H] = {}
        self._wake = asyncio.Event()
        self._tg: asyncio.TaskGroup | None = None
        # Resolved when the first stream is open, or failed with what ended the session.
        self._first: asyncio.Future[None] | None = None

    # -- what the session calls ---------------------------------------------------------

    @property
    def held_client_audio(self) -> int:
        """Bytes of the client's audio no stream has taken yet: in the backlog, or on its
        way (whichever stream takes it, it is not the broken one's to replay)."""
        return self._backlog.client_audio + self._in_flight

    async def opened(self) -> None:
        """Open the first stream now (streams otherwise open on first use) and wait for
        it; raises the ``UpstreamFailure`` that ended the session when none could open."""
        if self._first is None:
            self._first = asyncio.get_running_loop().create_future()
            if self.handle is not None:
                self._first.set_result(None)
            elif self.state in _ENDING:
                self._first.set_exception(
                    UpstreamFailure(
                        "stream_closed", f"the {self.name} session is closed", retryable=False
                    )
                )
            else:
                self._open_wanted = True
                self._wake.set()
        await asyncio.shield(self._first)

    def _settle_first(self, failure: UpstreamFailure | None) -> None:
        first = self._first
        if first is not None and not first.done():
            if failure is None:
                first.set_result(None)
            else:
                first.set_exception(failure)

    def is_current(self, handle: H) -> bool:
        return handle is self.handle

    def heard_from(self, handle: H) -> None:
        self.last_event = time.monotonic()

    def going_away(self, handle: H, seconds_left: float) -> None:
        """The upstream announced that ``handle`` will go away in ``seconds_left`` (a ``goAway``
        message, say): a fresh stream replaces it at the next turn boundary, or even
        mid-turn, replaying what it had not answered, when the end is near (within
        ``lifetime.GOING_AWAY_HURRY_SECONDS``, or half the notice when that is shorter). A notice
        about a stream already replaced is ignored; a second one keeps the sooner end."""
        if handle is not self.handle or self.state in _ENDING:
            return
        self._lifetime.announce_end(time.monotonic(), seconds_left)
        self._wake.set()

    def wake(self) -> None:
        """Something the adapter's conditions depend on changed (a turn ended)."""
        self._wake.set()

    def restart(self) -> None:
        """The stream must be replaced (a setting only a new stream can take): at the next
        turn boundary, or at once when idle now; what is sent from then on waits for it.
        Asked while a stream opens (which may have been built with the settings before),
        the stream is replaced once it is open; with no stream yet, the first one opens
        with the new settings anyway."""
        if self.state in _ENDING or (self.handle is None and self.state is UpstreamState.IDLE):
            return
        self._restart_wanted = True
        if self.state is not UpstreamState.OPEN:
            return
        if self._at_boundary(time.monotonic()):
            self.state = UpstreamState.SWITCHING
        self._wake.set()

    async def send(self, build: Builder, *, audio: int = 0, client: int = 0) -> None:
        """Send now when a stream takes it, else hold it (in order) for the next one."""
        handle = self.handle
        if self.state is not UpstreamState.OPEN or handle is None or self._backlog:
            self._hold(build, audio, client)
            return
        self._in_flight, self._resend = client, False
        try:
            await self._adapter.send(handle, build(handle))
        except UpstreamFailure as failure:
            self._hold(build, audio, client)
            self.failed(handle, failure)
            return
        finally:
            self._in_flight = 0
        if self._resend:
            # The stream broke while this audio was on its way, and the recovery measured
            # its replay without it: it goes to the next stream, after that replay, or it
            # would be lost with the broken stream (or, replayed too, heard twice).
            self._resend = False
            self._hold(build, audio, client)

    def failed(self, handle: H, failure: UpstreamFailure) -> None:
        if handle is self.handle and self._broken is None and self.state not in _ENDING:
            self._broken = failure
            self._wake.set()

    async def run(self, *background: Coroutine[Any, Any, None]) -> None:
        """The lifecycle, until ``close``; ``background`` runs beside it, in its task group.
        A failure no new stream can help ends it with ``adapter.lost(..., fatal=True)``."""
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                tasks = [tg.create_task(c) for c in background]
                try:
                    await self._maintain()
                except UpstreamFailure as failure:
                    await self._fatal(failure)
                finally:
                    for task in tasks:
                        task.cancel()
                    await self._stop_readers()
        finally:
            self.state = UpstreamState.CLOSED
            self._settle_first(
                UpstreamFailure("stream_closed", f"the {self.name} session closed", retryable=False)
            )

    async def close(self) -> None:
        """Begin closing: the live stream ends gracefully; ``run`` returns once its readers
        are done."""
        if self.state in _ENDING:
            return
        self.state = UpstreamState.CLOSING
        self._wake.set()
        handle = self.handle
        if handle is not None:
            await self._adapter.close(handle)

    # -- the loop -----------------------------------------------------------------------

    @property
    def closing(self) -> bool:
        return self.state in _ENDING

    async def _maintain(self) -> None:
        while not self.closing:
            timeout = await self._next_wait()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            self._wake.clear()
            if self.closing:
                return
            now = time.monotonic()
            if not self._adapter.waiting():
                self._stalls = 0
            if self._broken is None and self._stalled(now):
                self._stalls += 1
                self._broken = UpstreamFailure(
                    "stream_stalled",
                    f"{self.name} stopped answering mid-turn.",
                    retryable=self._stalls < self.policy.max_stalls_in_a_row,
                )
            if self._broken is not None:
                await self._recover(self._broken)
            elif (self.handle is None and self._open_wanted) or self._switch_due(now):
                await self._switch(replay=self._adapter.replay(False) if self.handle else [])

    async def _next_wait(self) -> float | None:
        now = time.monotonic()
        deadlines: list[float] = []
        if (tick := await self._adapter.tick(now)) is not None:
            deadlines.append(tick)
        if self.handle is not None:
            rotate_at = self._lifetime.rotate_at(self.policy.rotate_after_seconds)
            if self._restart_wanted or now >= rotate_at:
                deadlines.append(now + BOUNDARY_POLL_SECONDS)  # due: watch for a boundary
            else:
                deadlines.append(rotate_at)
            if self._adapter.waiting():
                deadlines.append(self.last_event + self.policy.stall_timeout_seconds + 0.01)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - now)

    def _stalled(self, now: float) -> bool:
        return (
            self.handle is not None
            and self._adapter.waiting()
            and now - self.last_event > self.policy.stall_timeout_seconds
        )

    def _switch_due(self, now: float) -> bool:
        if self.handle is None:
            return False
        if self._restart_wanted and self.state is UpstreamState.SWITCHING:
            return True  # decided at a boundary by restart()
        if not self._at_boundary(now):
            return False
        return self._restart_wanted or now >= self._lifetime.rotate_at(
            self.policy.rotate_after_seconds
        )

    def _at_boundary(self, now: float) -> bool:
        lifetime = self._lifetime
        age = now - lifetime.opened_at
        limit = self.policy.connection_limit_seconds
        # Close to the limit, switch even mid-turn (what is unheard is replayed): 30 s
        # before it, or halfway from the rotation point for short limits.
        margin = min(30.0, max(0.0, limit - self.policy.rotate_after_seconds) / 2)
        # So too once the stream must be retired (its credentials are about to expire), or
        # the upstream's announced end of it is near.
        hurry = age >= limit - margin or lifetime.retiring(now) or lifetime.going(now)
        return self._adapter.at_boundary(hurry)

    # -- opening, switching, recovering -------------------------------------------------

    def _hold(self, build: Builder, audio: int, client: int) -> None:
        self._backlog.hold(build, audio, client, limit_bytes=self.policy.max_backlog_bytes)
        if self.handle is None and self.state is UpstreamState.IDLE:
            self._open_wanted = True
        self._wake.set()

    async def _open(self) -> H:
        backoff = OpenBackoff(self.policy)
        while True:
            try:
                return await self._adapter.open()
            except UpstreamFailure as failure:
                pause = backoff.pause_after(failure)  # raises when no retry can help
                log.info(
                    "opening the %s stream for session %s failed (%s); retrying",
                    self.name,
                    self.session or "?",
                    failure.code,
                )
                await asyncio.sleep(pause)

    async def _switch(self, *, replay: list[bytes]) -> None:
        """Open a fresh stream, hand over (replay, then the backlog), retire the old one."""
        assert self._tg is not None
        began = time.monotonic()
        if self.state is not UpstreamState.RECOVERING:
            self.state = UpstreamState.OPENING if self.handle is None else UpstreamState.SWITCHING
        reason, why = self._why_open()
        self._open_wanted = self._restart_wanted = False
        new = await self._open()  # an UpstreamFailure here ends the session
        log.info("%s stream %s for session %s", self.name, why, self.session or "?")
        self._on_stream_opened(reason)
        self._settle_first(None)
        old, self.handle = self.handle, new
        self.last_event = time.monotonic()
        adapter = self._adapter
        retire_at = adapter.expires(new) if isinstance(adapter, Expires) else None
        self._lifetime = StreamLifetime(self.last_event, retire_at)
        self._readers = {t: h for t, h in self._readers.items() if not t.done()}
        self._readers[self._tg.create_task(self._read(new))] = new
        try:
            if replay:
                self.replayed_audio += sum(len(pcm) for pcm in replay)
                await self._adapter.send(new, self._adapter.audio_payload(new, replay))
            for build in self._backlog.drain():
                await self._adapter.send(new, build(new))
        except UpstreamFailure as failure:
            self.failed(new, failure)
        finally:
            if self.state not in _ENDING:
                self.state = UpstreamState.OPEN
        if reason != "opened":
            stream_listeners.stream_switched(reason, time.monotonic() - began)
        if old is not None:
            await self._adapter.close(old)

    def _why_open(self) -> tuple[str, str]:
        """Why a stream opens: the metric's reason, and the log's."""
        if self.state is UpstreamState.RECOVERING:
            return "recovered", "reopened after a failure (replaying what it had not answered)"
        if self.handle is None:
            return "opened", "opened"
        if self._restart_wanted:
            return "restarted", "restarted for new settings"
        return "rotated", self._lifetime.why_rotated(time.monotonic())

    async def _read(self, handle: H) -> None:
        failure: UpstreamFailure
        try:
            await self._adapter.read(handle)
            # Many transports end a dropped connection exactly like a clean end.
            failure = UpstreamFailure(
                "stream_ended", f"{self.name} ended the stream unexpectedly.", retryable=True
            )
        except UpstreamFailure as exc:
            failure = exc
        self.failed(handle, failure)

    async def _recover(self, failure: UpstreamFailure) -> None:
        self._broken = None
        self.state = UpstreamState.RECOVERING
        # Decided before any await, and before the broken stream is dropped: what it heard
        # but never answered is measured against it; what arrives from now on is held.
        replay = self._adapter.replay(True)
        self._resend = self._in_flight > 0
        broken, self.handle = self.handle, None
        if broken is not None:
            await self._adapter.abort(broken)
        now = time.monotonic()
        while self._recoveries and now - self._recoveries[0] > 60:
            self._recoveries.popleft()
        self._recoveries.append(now)
        if not failure.retryable or len(self._recoveries) > self.policy.max_recoveries_per_minute:
            raise failure
        await self._adapter.lost(failure, False)
        log.warning(
            "%s stream failed (%s: %s); reconnecting", self.name, failure.code, failure.message
        )
        await self._switch(replay=replay)

    async def _fatal(self, failure: UpstreamFailure) -> None:
        self._settle_first(failure)
        log.error("%s session ended (%s): %s", self.name, failure.code, failure.message)
        self.state = UpstreamState.CLOSING
        handle, self.handle = self.handle, None
        if handle is not None:
            await self._adapter.abort(handle)
        await self._adapter.lost(failure, True)

    async def _stop_readers(self) -> None:
        pending = {r: h for r, h in self._readers.items() if not r.done()}
        if pending:
            await asyncio.wait(pending, timeout=self.policy.close_timeout_seconds)
        late = [r for r in pending if not r.done()]
        if late:
            # Aborting a stream ends a receive the transport has parked; cancelling the
            # reader instead can leave the transport resolving a cancelled future later.
            for reader in late:
                await self._adapter.abort(pending[reader])
            await asyncio.wait(late, timeout=1.0)
        for reader in late:
            if not reader.done():
                reader.cancel()


_ENDING = (UpstreamState.CLOSING, UpstreamState.CLOSED)
