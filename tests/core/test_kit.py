"""The provider kit's pieces on their own: outbox, ledger, mirror, supervisor (with a fake
upstream: the real one, Bedrock against the emulator, is in tests/bedrock)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from rtcore.kit import (
    ConversationMirror,
    EventOutbox,
    Expires,
    ResponseLedger,
    SupervisorPolicy,
    UpstreamFailure,
    UpstreamState,
    UpstreamSupervisor,
)
from rtcore.kit.upstream import stream_listeners
from rtcore.provider import messages as n


async def test_outbox_ends_after_what_was_queued_and_raises_the_error_last() -> None:
    outbox = EventOutbox(maxsize=1)
    outbox.put_nowait(n.ResponseStarted(response_id="a"))
    outbox.put_nowait(n.ResponseStarted(response_id="b"))  # put_nowait ignores the bound
    outbox.end(RuntimeError("worker bug"))
    outbox.put_nowait(n.ResponseStarted(response_id="late"))  # nobody reads it: dropped
    got = [await anext(outbox), await anext(outbox)]
    assert [e.response_id for e in got] == ["a", "b"]  # type: ignore[union-attr]
    with pytest.raises(RuntimeError, match="worker bug"):
        await anext(outbox)


async def test_outbox_put_waits_for_the_reader_and_a_cancelled_read_loses_nothing() -> None:
    outbox = EventOutbox(maxsize=1)
    await outbox.put(n.ResponseStarted(response_id="a"))
    blocked = asyncio.create_task(outbox.put(n.ResponseStarted(response_id="b")))
    await asyncio.sleep(0.01)
    assert not blocked.done()  # full: backpressure
    assert (await anext(outbox)).response_id == "a"  # type: ignore[union-attr]
    await blocked
    empty = EventOutbox()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await anext(empty)
    empty.put_nowait(n.ResponseStarted(response_id="c"))
    assert (await anext(empty)).response_id == "c"  # type: ignore[union-attr]


def test_ledger_gives_each_response_exactly_one_done() -> None:
    ledger = ResponseLedger()
    first = ledger.request(n.CreateResponse(response_id="r1"), ("audio",))
    second = ledger.request(n.CreateResponse(response_id="r2"), ("audio",))
    assert ledger.active is first
    assert list(ledger.waiting) == [second]
    assert ledger.cancel("nobody") is None
    done = ledger.finish("r1")
    assert done == n.ResponseDone(response_id="r1")
    assert ledger.finish("r1") is None  # never a second done
    assert ledger.next_request() is second
    cancelled = ledger.cancel("r2")
    assert cancelled is not None
    assert (cancelled.status, cancelled.reason) == ("cancelled", "client_cancelled")
    started = ledger.start_own(("text",))
    assert ledger.active is not None
    assert ledger.active.id == started.response_id
    assert not ledger.active.requested
    ledger.request(n.CreateResponse(response_id="r3"), ("audio",))
    assert [d.response_id for d in ledger.fail_all()] == [started.response_id, "r3"]
    assert ledger.fail_all() == []


def test_mirror_follows_the_core_and_tracks_what_was_sent() -> None:
    mirror = ConversationMirror()
    user = n.Message(id="u1", role="user", text="hi")
    mirror.apply(n.AddItem(item=user))
    mirror.apply(n.AddItem(item=n.Message(id="a1", role="assistant"), previous_item_id="u1"))
    mirror.apply(n.AddItem(item=n.Message(id="s0", role="system", text="be kind")))  # at start
    spoken = n.Message(id="u2", role="user", has_audio=True)
    mirror.heard("u2", "spoken words")  # the provider's own transcript, before the AddItem
    mirror.apply(n.AddItem(item=spoken, previous_item_id="a1", source="audio"))
    assert [i.id for i in mirror.items] == ["s0", "u1", "a1", "u2"]
    assert mirror.get("u2") == n.Message(id="u2", role="user", text="spoken words", has_audio=True)
    assert [i.id for i in mirror.unsent()] == ["s0", "u1", "a1"]  # client items only
    mirror.mark_sent(["u1"])
    mirror.apply(n.TruncateItem(item_id="a1", audio_end_ms=0, text="cut"))
    mirror.apply(n.DeleteItem(item_id="s0"))
    mirror.apply(n.DeleteItem(item_id="gone"))  # unknown: nothing happens
    assert [i.id for i in mirror.unsent()] == ["a1"]
    assert mirror.get("a1") == n.Message(id="a1", role="assistant", text="cut")
    assert not mirror.apply(n.ClearAudio())


class FakeUpstream:
    """An upstream whose streams are numbers; what each was sent is recorded."""

    def __init__(self) -> None:
        self.opened = 0
        self.sent: dict[int, list[bytes]] = {}
        self.fail_opens: list[UpstreamFailure] = []
        self.boundary = True
        self.owed = False
        self.unheard: list[bytes] = []
        self.lost_with: list[tuple[str, bool]] = []
        self.ends: dict[int, asyncio.Event] = {}
        self.closed: list[int] = []
        self.asked: list[bool] = []  # each at_boundary question: was it hurried?
        self.hurry_ok = True  # mid-turn is acceptable when hurried

    async def open(self) -> int:
        if self.fail_opens:
            raise self.fail_opens.pop(0)
        self.opened += 1
        self.sent[self.opened] = []
        self.ends[self.opened] = asyncio.Event()
        return self.opened

    async def send(self, handle: int, payload: list[bytes]) -> None:
        self.sent[handle] += payload

    async def read(self, handle: int) -> None:
        await self.ends[handle].wait()

    async def close(self, handle: int) -> None:
        self.closed.append(handle)
        self.ends[handle].set()

    async def abort(self, handle: int) -> None:
        self.ends[handle].set()

    def at_boundary(self, hurry: bool) -> bool:
        self.asked.append(hurry)
        return self.boundary or (hurry and self.hurry_ok)

    def waiting(self) -> bool:
        return self.owed

    def replay(self, recovering: bool) -> list[bytes]:
        return self.unheard

    def audio_payload(self, handle: int, pcm: list[bytes]) -> list[bytes]:
        return [b"replay:" + p for p in pcm]

    async def lost(self, failure: UpstreamFailure, fatal: bool) -> None:
        self.lost_with.append((failure.code, fatal))

    async def tick(self, now: float) -> float | None:
        return None


def payload(data: bytes) -> Any:
    return lambda _handle: [data]


async def eventually(check: Any, within: float = 2.0) -> None:
    for _ in range(int(within / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


FAST = SupervisorPolicy(backoff_initial_seconds=0.001, close_timeout_seconds=0.2)


async def test_supervisor_opens_lazily_rotates_at_a_boundary_and_recovers_with_replay() -> None:
    up = FakeUpstream()
    sup = UpstreamSupervisor[int](up, FAST, name="Fake")
    runner = asyncio.create_task(sup.run())
    assert sup.state is UpstreamState.IDLE
    await sup.send(payload(b"one"), audio=3, client=3)  # held: no stream yet
    await eventually(lambda: sup.state is UpstreamState.OPEN)
    await sup.send(payload(b"two"))
    assert up.sent[1] == [b"one", b"two"]
    # A setting only a new stream can take: switched at once, as it is idle.
    sup.restart()
    assert sup.state is UpstreamState.SWITCHING
    await sup.send(payload(b"three"))  # waits for the new stream
    await eventually(lambda: up.opened == 2 and sup.state is UpstreamState.OPEN)
    assert up.sent[2] == [b"three"]
    assert up.closed == [1]
    # The live stream breaks: what it never answered is replayed on the next one.
    up.unheard = [b"speech"]
    up.ends[2].set()
    await eventually(lambda: up.opened == 3 and sup.state is UpstreamState.OPEN)
    assert up.sent[3] == [b"replay:speech"]
    assert up.lost_with == [("stream_ended", False)]
    await sup.close()
    await asyncio.wait_for(runner, 2)
    assert sup.state is UpstreamState.CLOSED


async def test_supervisor_rotates_only_at_a_turn_boundary() -> None:
    up = FakeUpstream()
    sup = UpstreamSupervisor[int](up, SupervisorPolicy(rotate_after_seconds=0.05))
    runner = asyncio.create_task(sup.run())
    up.boundary = False
    await sup.send(payload(b"x"))
    await eventually(lambda: up.opened == 1)
    await asyncio.sleep(0.2)
    assert up.opened == 1  # rotation due, but a turn is in flight
    up.boundary = True
    await eventually(lambda: up.opened == 2)
    assert up.lost_with == []  # a rotation loses nothing
    await sup.close()
    await asyncio.wait_for(runner, 2)


async def test_supervisor_replaces_a_stalled_stream() -> None:
    up = FakeUpstream()
    sup = UpstreamSupervisor[int](up, SupervisorPolicy(stall_timeout_seconds=0.1))
    runner = asyncio.create_task(sup.run())
    await sup.send(payload(b"x"))
    await eventually(lambda: up.opened == 1)
    up.owed = True  # a reply is owed and nothing comes
    sup.wake()
    await eventually(lambda: up.opened == 2)
    assert up.lost_with == [("stream_stalled", False)]
    await sup.close()
    await asyncio.wait_for(runner, 2)


async def test_a_stream_that_stalls_again_after_a_stall_recovery_ends_the_session() -> None:
    """A model that stops answering on every new stream is not waited for forever: the
    session ends (and fails over, where it can), and each replacement is reported with how
    long it took."""
    up = FakeUpstream()
    switched: list[tuple[str, float]] = []
    stream_listeners.on_stream_switched(lambda reason, gap: switched.append((reason, gap)))
    sup = UpstreamSupervisor[int](up, SupervisorPolicy(stall_timeout_seconds=0.1))
    runner = asyncio.create_task(sup.run())
    await sup.send(payload(b"x"))
    await eventually(lambda: up.opened == 1)
    up.owed = True  # a reply is owed, and no stream gives one
    sup.wake()
    await asyncio.wait_for(runner, 5)
    assert up.lost_with == [("stream_stalled", False), ("stream_stalled", True)]
    assert up.opened == 2
    assert [reason for reason, _ in switched] == ["recovered"]
    assert switched[0][1] >= 0


async def test_supervisor_retries_opens_then_gives_up_on_what_cannot_be_retried() -> None:
    up = FakeUpstream()
    busy = UpstreamFailure("throttled", "slow down", retryable=True)
    up.fail_opens = [busy, busy]
    sup = UpstreamSupervisor[int](up, FAST)
    runner = asyncio.create_task(sup.run())
    await sup.send(payload(b"x"))
    await eventually(lambda: sup.state is UpstreamState.OPEN)
    assert up.sent[1] == [b"x"]
    up.fail_opens = [UpstreamFailure("denied", "no access", retryable=False)]
    up.ends[1].set()  # the stream ends; the reopen is refused for good
    await asyncio.wait_for(runner, 2)
    assert up.lost_with == [("stream_ended", False), ("denied", True)]
    assert sup.state is UpstreamState.CLOSED


class ExpiringUpstream(FakeUpstream):
    """Each stream must be replaced shortly after it opens (credentials that expire)."""

    def expires(self, handle: int) -> float | None:
        return time.monotonic() + 0.05 if handle == 1 else None


async def test_supervisor_asks_an_adapter_that_expires_when_each_stream_must_go() -> None:
    up = ExpiringUpstream()
    assert isinstance(up, Expires)
    assert not isinstance(FakeUpstream(), Expires)
    reasons: list[str] = []
    sup = UpstreamSupervisor[int](up, FAST, on_stream_opened=reasons.append)
    runner = asyncio.create_task(sup.run())
    await sup.send(payload(b"x"))
    await eventually(lambda: up.opened == 2)
    assert reasons == ["opened", "rotated"]
    await sup.close()
    await asyncio.wait_for(runner, 2)


class SlowOpeningUpstream(FakeUpstream):
    """Its first stream takes a while to open (settings may change meanwhile)."""

    def __init__(self) -> None:
        super().__init__()
        self.opening = asyncio.Event()
        self.release = asyncio.Event()

    async def open(self) -> int:
        if self.opened == 0:
            self.opening.set()
            await self.release.wait()
        return await super().open()


async def test_a_restart_asked_while_the_stream_opens_replaces_it_once_open() -> None:
    """New settings that arrive while a stream is being opened (built with the old ones)
    are not dropped: the stream is replaced once it is open."""
    up = SlowOpeningUpstream()
    reasons: list[str] = []
    sup = UpstreamSupervisor[int](up, FAST, on_stream_opened=reasons.append)
    runner = asyncio.create_task(sup.run())
    await sup.send(payload(b"x"))
    await up.opening.wait()
    sup.restart()  # the client's session.update, while the first stream opens
    up.release.set()
    await eventually(lambda: up.opened == 2 and sup.state is UpstreamState.OPEN)
    assert reasons == ["opened", "restarted"]
    await sup.close()
    await asyncio.wait_for(runner, 2)


async def test_a_restart_with_no_stream_yet_waits_for_nothing() -> None:
    up = FakeUpstream()
    reasons: list[str] = []
    sup = UpstreamSupervisor[int](up, FAST, on_stream_opened=reasons.append)
    runner = asyncio.create_task(sup.run())
    sup.restart()  # settings before any stream: the first one opens with them
    await sup.send(payload(b"x"))
    await eventually(lambda: up.opened == 1 and sup.state is UpstreamState.OPEN)
    await sup.send(payload(b"y"))
    assert up.opened == 1
    assert reasons == ["opened"]
    await sup.close()
    await asyncio.wait_for(runner, 2)


async def test_supervisor_rotates_at_the_next_boundary_once_the_upstream_says_it_goes_away() -> (
    None
):
    up = FakeUpstream()
    reasons: list[str] = []
    sup = UpstreamSupervisor[int](up, FAST, on_stream_opened=reasons.append)
    runner = asyncio.create_task(sup.run())
    up.boundary = False  # a turn in flight
    await sup.send(payload(b"x"))
    await eventually(lambda: up.opened == 1)
    sup.going_away(1, 60.0)  # far off: no hurry
    asked = len(up.asked)
    await eventually(lambda: len(up.asked) >= asked + 3)  # it watches for a boundary...
    assert up.opened == 1
    assert not any(up.asked[asked:])
    up.boundary = True
    await eventually(lambda: up.opened == 2 and sup.state is UpstreamState.OPEN)
    assert reasons == ["opened", "rotated"]
    assert up.closed == [1]
    assert up.lost_with == []
    sup.going_away(1, 0.0)  # about a stream already replaced: ignored
    await sup.send(payload(b"y"))
    assert up.sent[2] == [b"y"]
    assert up.opened == 2
    await sup.close()
    await asyncio.wait_for(runner, 2)


async def test_supervisor_switches_mid_turn_with_replay_when_the_announced_end_is_near() -> None:
    up = FakeUpstream()
    sup = UpstreamSupervisor[int](up, FAST)
    runner = asyncio.create_task(sup.run())
    up.boundary = False  # the turn never ends on its own
    await sup.send(payload(b"x"))
    await eventually(lambda: up.opened == 1)
    up.unheard = [b"speech"]  # what the going stream heard but never answered
    sup.going_away(1, 0.2)  # hurried from halfway through the notice
    await eventually(lambda: up.opened == 2 and sup.state is UpstreamState.OPEN)
    assert True in up.asked
    assert up.sent[2] == [b"replay:speech"]
    assert up.closed == [1]
    assert up.lost_with == []
    await sup.close()
    await asyncio.wait_for(runner, 2)
