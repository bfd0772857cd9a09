"""The kit's OutOfBandReply: a reply run by a provider's ``converse`` outside the live
context, forwarding what a client should see and finishing with exactly one done."""

from __future__ import annotations

import asyncio
import logging

import pytest

from rtcore.kit import EventOutbox, Forward, OutOfBandReplies, OutOfBandReply
from rtcore.provider import ProviderUnavailable
from rtcore.provider import messages as n

RID = "resp_side"
CREATE = n.CreateResponse(response_id=RID, conversation=False)

TEXT = n.TextDelta(response_id=RID, text="Hello")
AUDIO = n.AudioDelta(response_id=RID, pcm=b"\x01\x00" * 8)
WORDS = n.TranscriptDelta(response_id=RID, text="Hello")
CALL = n.ToolCall(response_id=RID, call_id="call_1", name="lookup", arguments="{}")
DONE = n.ResponseDone(response_id=RID, usage=n.Usage(output_audio_tokens=3))
# What a translator also produces, and the client must not see of this reply.
INTERNAL: list[n.Event] = [
    n.ResponseStarted(response_id=RID),
    n.SpeechStarted(item_id="item_1", audio_start_ms=0),
    n.ProviderError(code="server_error", message="a hiccup"),
]


class Upstream:
    """A scripted ``converse``: sends batches of events, then waits (a connection that
    stays open) until it is cancelled or told to stop."""

    def __init__(self, *batches: list[n.Event], then: BaseException | None = None) -> None:
        self.batches = batches
        self.then = then
        self.returned: list[bool] = []  # what forward said, batch by batch
        self.waiting = asyncio.Event()
        self.closed = False
        self.stop = asyncio.Event()

    async def converse(self, forward: Forward) -> None:
        try:
            for batch in self.batches:
                finished = await forward(batch)
                self.returned.append(finished)
                if finished:
                    return
            if self.then is not None:
                raise self.then
            self.waiting.set()
            await self.stop.wait()
        finally:
            self.closed = True


def classify(exc: Exception) -> n.ResponseError:
    return n.ResponseError(code="classified", message=f"it broke: {exc}")


def reply(upstream: Upstream, outbox: EventOutbox, finished: list[str]) -> OutOfBandReply:
    return OutOfBandReply(
        CREATE, outbox, upstream.converse, classify=classify, on_done=finished.append
    )


async def read_until_done(outbox: EventOutbox) -> list[n.Event]:
    out: list[n.Event] = []
    async with asyncio.timeout(5):
        async for event in outbox:
            out.append(event)
            if isinstance(event, n.ResponseDone):
                break
    # Whatever follows the done arrives by now, if anything does.
    for _ in range(5):
        await asyncio.sleep(0)
    return out


async def test_client_events_are_forwarded_and_the_upstreams_done_finishes_it() -> None:
    outbox, finished = EventOutbox(), []
    upstream = Upstream([*INTERNAL[:1], TEXT, AUDIO], [WORDS, CALL, *INTERNAL[1:]], [DONE, TEXT])
    side = reply(upstream, outbox, finished)
    side.start()
    assert await read_until_done(outbox) == [TEXT, AUDIO, WORDS, CALL, DONE]
    # forward said when the reply had finished, and converse stopped there.
    assert upstream.returned == [False, False, True]
    assert upstream.closed
    assert side.done
    assert finished == [RID]
    assert len(outbox) == 0  # nothing after the done: not the text behind it


async def test_it_finishes_exactly_once() -> None:
    outbox, finished = EventOutbox(), []
    second = n.ResponseDone(response_id=RID, status="incomplete", reason="max_output_tokens")
    upstream = Upstream([TEXT, DONE, second])
    side = reply(upstream, outbox, finished)
    side.start()
    assert await read_until_done(outbox) == [TEXT, DONE]
    await side.cancel("client_cancelled")  # too late: it has finished
    assert await side.forward([TEXT, second]) is True  # nothing more goes out
    assert len(outbox) == 0
    assert finished == [RID]


async def test_cancel_stops_converse_and_finishes_cancelled() -> None:
    outbox, finished = EventOutbox(), []
    upstream = Upstream([TEXT])
    side = reply(upstream, outbox, finished)
    side.start()
    async with asyncio.timeout(5):
        await upstream.waiting.wait()
    assert not upstream.closed
    await side.cancel("client_cancelled")
    # converse was cancelled (its cleanup, which closes the connection, ran) before the done.
    assert upstream.closed
    assert not upstream.stop.is_set()
    assert await read_until_done(outbox) == [
        TEXT,
        n.ResponseDone(response_id=RID, status="cancelled", reason="client_cancelled"),
    ]
    assert finished == [RID]
    await side.cancel("cancelled")  # a second cancel (the session closing) adds nothing
    assert len(outbox) == 0
    assert finished == [RID]


async def test_cancel_before_start_finishes_cancelled() -> None:
    outbox, finished = EventOutbox(), []
    upstream = Upstream([TEXT])
    side = reply(upstream, outbox, finished)
    await side.cancel("cancelled")
    assert await read_until_done(outbox) == [
        n.ResponseDone(response_id=RID, status="cancelled", reason="cancelled")
    ]
    assert upstream.returned == []  # converse never ran
    assert finished == [RID]


async def test_a_failure_finishes_failed_with_the_classified_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox, finished = EventOutbox(), []
    upstream = Upstream([TEXT], then=ValueError("socket closed"))
    side = reply(upstream, outbox, finished)
    with caplog.at_level(logging.WARNING, logger="rtcore.kit.turns.out_of_band"):
        side.start()
        events = await read_until_done(outbox)
    error = n.ResponseError(code="classified", message="it broke: socket closed")
    assert events == [TEXT, n.ResponseDone(response_id=RID, status="failed", error=error)]
    assert upstream.closed
    assert finished == [RID]
    assert any(RID in r.getMessage() and "classified" in r.getMessage() for r in caplog.records)


async def test_an_unavailable_provider_says_its_own_error() -> None:
    outbox, finished = EventOutbox(), []
    refused = ProviderUnavailable("no credentials found", code="missing_credentials")
    side = reply(Upstream(then=refused), outbox, finished)
    side.start()
    error = n.ResponseError(code="missing_credentials", message="no credentials found")
    assert await read_until_done(outbox) == [
        n.ResponseDone(response_id=RID, status="failed", error=error)
    ]
    assert finished == [RID]


async def test_converse_ending_before_the_reply_finishes_it_failed() -> None:
    outbox, finished = EventOutbox(), []
    upstream = Upstream([AUDIO])
    upstream.stop.set()  # the connection ends with no done
    side = reply(upstream, outbox, finished)
    side.start()
    events = await read_until_done(outbox)
    assert events[0] == AUDIO
    done = events[1]
    assert isinstance(done, n.ResponseDone)
    assert done.status == "failed"
    assert done.error is not None
    assert done.error.code == "server_error"
    assert finished == [RID]


async def test_a_sessions_replies_in_flight_are_cancelled_by_id_or_all() -> None:
    outbox = EventOutbox()
    replies = OutOfBandReplies()
    upstreams: dict[str, Upstream] = {}
    for rid in ("resp_a", "resp_b", "resp_c"):
        upstreams[rid] = Upstream([n.TextDelta(response_id=rid, text=rid)])
        create = n.CreateResponse(response_id=rid, conversation=False)
        replies.start(
            OutOfBandReply(
                create,
                outbox,
                upstreams[rid].converse,
                classify=classify,
                on_done=replies.discard,
            )
        )
    async with asyncio.timeout(5):
        for upstream in upstreams.values():
            await upstream.waiting.wait()
    assert await replies.cancel("resp_live") is False  # not one of them: the live context's
    assert await replies.cancel("resp_a") is True
    assert upstreams["resp_a"].closed
    assert not upstreams["resp_b"].closed
    assert await replies.cancel("resp_a") is False  # finished: no longer in flight
    await replies.cancel_all()
    assert all(u.closed for u in upstreams.values())
    outbox.end()
    dones = [e async for e in outbox if isinstance(e, n.ResponseDone)]
    assert [(d.response_id, d.reason) for d in dones] == [
        ("resp_a", "client_cancelled"),
        ("resp_b", "cancelled"),
        ("resp_c", "cancelled"),
    ]


async def test_the_sessions_close_waits_for_a_finished_replys_connection() -> None:
    outbox, replies = EventOutbox(), OutOfBandReplies()
    closing, closed = asyncio.Event(), asyncio.Event()

    async def converse(forward: Forward) -> None:
        try:
            await forward([TEXT, DONE])
        finally:  # the connection's close, bounded by the provider's close timeout
            await closing.wait()
            closed.set()

    replies.start(
        OutOfBandReply(CREATE, outbox, converse, classify=classify, on_done=replies.discard)
    )
    assert await read_until_done(outbox) == [TEXT, DONE]
    assert await replies.cancel(RID) is False  # finished: nothing to cancel
    closer = asyncio.create_task(replies.cancel_all())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not closer.done()  # the reply's connection is still closing
    closing.set()
    async with asyncio.timeout(5):
        await closer
    assert closed.is_set()


async def test_a_cancel_cancelled_itself_is_not_swallowed() -> None:
    outbox, finished = EventOutbox(), []
    closing = asyncio.Event()

    async def converse(forward: Forward) -> None:
        try:
            await forward([TEXT])
            await asyncio.Event().wait()
        finally:
            await closing.wait()

    side = OutOfBandReply(CREATE, outbox, converse, classify=classify, on_done=finished.append)
    side.start()
    for _ in range(5):
        await asyncio.sleep(0)
    canceller = asyncio.create_task(side.cancel("client_cancelled"))
    for _ in range(5):
        await asyncio.sleep(0)
    canceller.cancel()  # the session's own task is being cancelled meanwhile
    closing.set()
    with pytest.raises(asyncio.CancelledError):
        await canceller
