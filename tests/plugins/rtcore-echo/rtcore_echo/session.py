"""One echo conversation on the provider kit (the worked example of writing-a-provider.md).

``send`` only puts the command in an inbox. One worker handles the commands in order and,
while a response streams, emits its next planned event whenever ``chunk_delay_ms`` passes
without a command, so a cancel or a barge-in lands between two chunks. The kit keeps the
books: the ledger gives each response its one done, the mirror holds the conversation.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Final

from rtcore.kit import ConversationMirror, EventOutbox, LedgerResponse, ResponseLedger
from rtcore.provider import messages as n
from rtcore_echo import planning, replies
from rtcore_echo.params import EchoParams
from rtcore_echo.vad import Listener

_CLOSE: Final = object()  # inbox sentinel: stop after the commands before it


class _Reconnect:
    """Inbox entry: act out an upstream reconnection between two commands."""

    def __init__(self) -> None:
        self.done = asyncio.get_running_loop().create_future()


class EchoSession:
    def __init__(
        self,
        config: n.SessionConfig,
        params: EchoParams,
        *,
        on_close: Callable[[EchoSession], None] = lambda _: None,
    ) -> None:
        self.config = config
        self.params = params
        self.mirror = ConversationMirror()
        # Output is paced and finite per response, and the core reads it continuously: a
        # slow reader costs memory for one response at most, so the outbox has no bound.
        self._outbox = EventOutbox()
        self._ledger = ResponseLedger()
        self._streaming: planning.Streaming | None = None
        self._on_close = on_close
        self._inbox: asyncio.Queue[n.Command | object] = asyncio.Queue()
        self._listener = Listener(config, params.vad_threshold)
        self._closing = False
        # A spoken turn that ended while a reply it did not interrupt was streaming
        # (interrupt_response false): answered once that reply is over.
        self._turn_owed = False
        # Upstream connections so far (``reconnect``): echo has no upstream, so a
        # reconnection loses nothing, which is what the contract asks of a real one.
        self.connections = 1
        self._task = asyncio.create_task(self._run(), name="rtcore-echo session")

    # -- the ProviderSession interface --------------------------------------------------

    async def send(self, command: n.Command) -> None:
        if self._closing:
            raise RuntimeError("echo session is closed")
        self._inbox.put_nowait(command)

    def events(self) -> AsyncIterator[n.Event]:
        return self._outbox

    async def reconnect(self) -> None:
        """What a dropped upstream connection and its replacement would be, between the
        commands sent before and after; returns once it has happened."""
        entry = _Reconnect()
        self._inbox.put_nowait(entry)
        await entry.done

    async def aclose(self) -> None:
        if not self._closing:
            self._closing = True
            self._inbox.put_nowait(_CLOSE)
            self._on_close(self)
        await asyncio.wait([self._task])

    # -- the worker ---------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        error: BaseException | None = None
        try:
            while (command := await self._next_command(loop)) is not _CLOSE:
                if command is None:
                    await self._step(loop)
                    await asyncio.sleep(0)  # let the reader run even with no delay
                elif isinstance(command, _Reconnect):
                    await self._reconnected()
                    command.done.set_result(None)
                else:
                    await self._handle(command)  # type: ignore[arg-type]  # not a sentinel
        except Exception as exc:
            error = exc  # a bug in the worker surfaces in the reader, not in a log line
        finally:
            for done in self._ledger.fail_all("cancelled"):  # each open one still gets its done
                self._outbox.put_nowait(done)
            self._outbox.end(error)

    async def _next_command(self, loop: asyncio.AbstractEventLoop) -> n.Command | object | None:
        """The next command, or None when the active response's next event is due first."""
        streaming = self._streaming
        if streaming is None or not self._inbox.empty():
            return await self._inbox.get()
        wait = streaming.due - loop.time()
        if wait <= 0:
            return None
        try:
            return await asyncio.wait_for(self._inbox.get(), wait)
        except TimeoutError:
            return None

    async def _step(self, loop: asyncio.AbstractEventLoop) -> None:
        streaming = self._streaming
        assert streaming is not None
        if not streaming.pending:
            plan = streaming.plan
            await self._end(streaming.response.id, plan.status, plan.reason)
            return
        event = streaming.pending.popleft()
        streaming.note(event)
        await self._outbox.put(event)
        streaming.due = loop.time() + self.params.chunk_delay_ms / 1000

    async def _end(
        self, response_id: str, status: n.ResponseStatus = "cancelled", reason: str | None = None
    ) -> None:
        """End a response through the ledger, then start the next request waiting."""
        streaming = self._streaming
        usage = n.Usage()
        if streaming is not None and streaming.response.id == response_id:
            usage = streaming.usage(self.config.output_sample_rate)
            self._streaming = None
        if done := self._ledger.finish(response_id, status, reason, usage):
            await self._outbox.put(done)
        if self._streaming is None and (nxt := self._ledger.next_request()) is not None:
            self._stream(nxt)
        elif self._turn_owed and self._ledger.active is None:
            self._turn_owed = False
            await self._answer()

    async def _reconnected(self) -> None:
        self.connections += 1

    # -- commands -----------------------------------------------------------------------

    async def _handle(self, command: n.Command) -> None:
        if self.mirror.apply(command):
            return
        match command:
            case n.Configure(config=config):
                self.config = config
                self._listener.configure(config)
            case n.AppendAudio(pcm=pcm):
                for event in self._listener.feed(pcm):
                    await self._heard(event)
            case n.CommitAudio(item_id=item_id):
                await self._user_turn(item_id, self._listener.take())
            case n.ClearAudio():
                self._listener.clear()
            case n.CreateResponse():
                response = self._ledger.request(command, self.config.output_modalities)
                if self._ledger.active is response:
                    self._stream(response)
            case n.CancelResponse(response_id=response_id):
                if self._ledger.is_open(response_id):
                    await self._end(response_id, "cancelled", "client_cancelled")

    # -- audio input --------------------------------------------------------------------

    async def _heard(self, event: n.SpeechStarted | n.SpeechStopped) -> None:
        await self._outbox.put(event)
        td, active = self.config.turn_detection, self._ledger.active
        assert td is not None
        if isinstance(event, n.SpeechStarted):
            if active is not None and td.interrupt_response:
                await self._end(active.id, "cancelled", "turn_detected")
            return
        self._listener.buffered_bytes = 0  # the turn took them
        await self._user_turn(event.item_id, self._listener.spoken_ms)
        if td.create_response:
            if active is None:
                await self._answer()
            else:
                self._turn_owed = True

    async def _answer(self) -> None:
        """A response of its own to the user's spoken turn."""
        await self._outbox.put(self._ledger.start_own(self.config.output_modalities))
        assert self._ledger.active is not None
        self._stream(self._ledger.active, text=replies.HEARD)

    async def _user_turn(self, item_id: str, spoken_ms: int) -> None:
        text = f"(spoken {spoken_ms} ms)"
        self.mirror.heard(item_id, text)  # for replies before the core's UpdateItem comes
        await self._outbox.put(n.InputTranscript(item_id=item_id, text=text))

    # -- responses ----------------------------------------------------------------------

    def _stream(self, response: LedgerResponse, *, text: str | None = None) -> None:
        items = self.mirror.items
        plan = planning.plan(self.config, self.params, response, items, text)
        usage = planning.input_usage(self.config, items, self._listener.total_ms)
        self._streaming = planning.Streaming(response, plan, usage)
        self._streaming.due = asyncio.get_running_loop().time()
