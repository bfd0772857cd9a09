"""One echo conversation on the provider kit: a worker task between an inbox and the kit's
outbox. The worked example of docs/writing-a-provider.md.

``send`` only puts the command in the inbox, so it never waits for output. The worker
handles commands in order and, while a response is active, emits its next planned event
whenever ``chunk_delay_ms`` passes without a new command; a cancel or a barge-in arriving
mid-response is therefore handled between two chunks. The kit does the bookkeeping: the
``ResponseLedger`` gives every response its one done, the ``ConversationMirror`` holds the
conversation the replies are computed from.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Final

from rtcore.kit import ConversationMirror, EventOutbox, LedgerResponse, ResponseLedger, new_item_id
from rtcore.provider.messages import (
    AppendAudio,
    AudioDelta,
    CancelResponse,
    ClearAudio,
    Command,
    CommitAudio,
    Configure,
    CreateResponse,
    Event,
    FunctionCallOutput,
    InputTranscript,
    Item,
    Message,
    SessionConfig,
    SpeechStarted,
    SpeechStopped,
    TextDelta,
    ToolCall,
    TranscriptDelta,
    Usage,
)
from rtcore_echo import replies
from rtcore_echo.params import EchoParams
from rtcore_echo.vad import EnergyDetector, VoiceStart

DEFAULT_SILENCE_MS: Final = 500
_CLOSE: Final = object()  # inbox sentinel: stop after the commands before it


class _Streaming:
    """The active response's plan: what is left to emit, and counts of what was emitted
    (so a cancelled response reports the usage it really had)."""

    def __init__(self, response: LedgerResponse, plan: replies.Plan, input_usage: Usage) -> None:
        self.response = response
        self.plan = plan
        self.pending: deque[Event] = deque(plan.events)
        self.input_usage = input_usage
        self.due = 0.0
        self.text_chars = self.audio_bytes = 0

    def note(self, event: Event) -> None:
        if isinstance(event, TextDelta | TranscriptDelta):
            self.text_chars += len(event.text)
        elif isinstance(event, AudioDelta):
            self.audio_bytes += len(event.pcm)
        elif isinstance(event, ToolCall):
            self.text_chars += len(event.name) + len(event.arguments)

    def usage(self, rate: int) -> Usage:
        return Usage(
            input_text_tokens=self.input_usage.input_text_tokens,
            input_audio_tokens=self.input_usage.input_audio_tokens,
            output_text_tokens=(self.text_chars + 3) // 4,
            output_audio_tokens=self.audio_bytes * 1000 // (2 * rate) // 50,  # ~20 a second
        )


class EchoSession:
    def __init__(
        self,
        config: SessionConfig,
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
        self._streaming: _Streaming | None = None
        self._heard: dict[str, str] = {}  # transcripts of user audio, by item id
        self._on_close = on_close
        self._inbox: asyncio.Queue[Command | object] = asyncio.Queue()
        self._detector = EnergyDetector(config.input_sample_rate, params.vad_threshold, 0)
        self._configure_detector()
        self._turn_id: str | None = None  # the spoken turn under way
        self._buffered_bytes = 0  # input audio since the last commit / clear / turn end
        self._input_audio_ms = 0  # all input audio, for usage
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="rtcore-echo session")

    # -- the ProviderSession interface --------------------------------------------------

    async def send(self, command: Command) -> None:
        if self._closing:
            raise RuntimeError("echo session is closed")
        self._inbox.put_nowait(command)

    def events(self) -> AsyncIterator[Event]:
        return self._outbox

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
                else:
                    await self._handle(command)  # type: ignore[arg-type]  # not a sentinel
        except Exception as exc:
            error = exc  # a bug in the worker surfaces in the reader, not in a log line
        finally:
            for done in self._ledger.fail_all("cancelled"):  # each open one still gets its done
                self._outbox.put_nowait(done)
            self._outbox.end(error)

    async def _next_command(self, loop: asyncio.AbstractEventLoop) -> Command | object | None:
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
        self, response_id: str, status: str = "cancelled", reason: str | None = None
    ) -> None:
        """End a response through the ledger, then start the next request waiting."""
        streaming = self._streaming
        usage = Usage()
        if streaming is not None and streaming.response.id == response_id:
            usage = streaming.usage(self.config.output_sample_rate)
            self._streaming = None
        if done := self._ledger.finish(response_id, status, reason, usage):  # type: ignore[arg-type]
            await self._outbox.put(done)
        if self._streaming is None and (nxt := self._ledger.next_request()) is not None:
            self._stream(nxt)

    # -- commands -----------------------------------------------------------------------

    async def _handle(self, command: Command) -> None:
        if self.mirror.apply(command):
            return
        match command:
            case Configure(config=config):
                self.config = config
                self._configure_detector()
            case AppendAudio(pcm=pcm):
                await self._append_audio(pcm)
            case CommitAudio(item_id=item_id):
                ms = self._buffered_bytes * 1000 // (2 * self.config.input_sample_rate)
                self._detector.reset()
                await self._user_turn(item_id, ms)
            case ClearAudio():
                self._detector.reset()
                self._buffered_bytes = 0
            case CreateResponse():
                response = self._ledger.request(command, self.config.output_modalities)
                if self._ledger.active is response:
                    self._stream(response)
            case CancelResponse(response_id=response_id):
                if self._ledger.is_open(response_id):
                    await self._end(response_id, "cancelled", "client_cancelled")

    # -- audio input --------------------------------------------------------------------

    def _configure_detector(self) -> None:
        td = self.config.turn_detection
        silence = td.silence_duration_ms if td and td.silence_duration_ms else DEFAULT_SILENCE_MS
        self._detector.configure(self.config.input_sample_rate, self.params.vad_threshold, silence)

    async def _append_audio(self, pcm: bytes) -> None:
        self._buffered_bytes += len(pcm)
        self._input_audio_ms += len(pcm) * 1000 // (2 * self.config.input_sample_rate)
        td = self.config.turn_detection
        if td is None:
            return  # manual turns: wait for CommitAudio
        for voice in self._detector.feed(pcm):
            if isinstance(voice, VoiceStart):
                self._turn_id = new_item_id()
                await self._outbox.put(
                    SpeechStarted(item_id=self._turn_id, audio_start_ms=voice.start_ms)
                )
                if (active := self._ledger.active) is not None and td.interrupt_response:
                    await self._end(active.id, "cancelled", "turn_detected")
                continue
            item_id, self._turn_id = self._turn_id or new_item_id(), None
            await self._outbox.put(SpeechStopped(item_id=item_id, audio_end_ms=voice.end_ms))
            await self._user_turn(item_id, voice.speech_ms)
            if td.create_response and self._ledger.active is None:
                await self._outbox.put(self._ledger.start_own(self.config.output_modalities))
                assert self._ledger.active is not None
                self._stream(self._ledger.active, text=replies.HEARD)

    async def _user_turn(self, item_id: str, spoken_ms: int) -> None:
        """A user's turn of audio ended: its transcript, kept for the replies too (the core's
        copy of it arrives later, as an UpdateItem)."""
        self._buffered_bytes = 0
        self._heard[item_id] = text = f"(spoken {spoken_ms} ms)"
        await self._outbox.put(InputTranscript(item_id=item_id, text=text, final=True))

    # -- responses ----------------------------------------------------------------------

    def _items(self) -> list[Item]:
        return [
            Message(id=i.id, role=i.role, text=self._heard[i.id], has_audio=True)
            if isinstance(i, Message) and not i.text and i.id in self._heard
            else i
            for i in self.mirror.items
        ]

    def _stream(self, response: LedgerResponse, *, text: str | None = None) -> None:
        items = self._items()
        input_usage = Usage(
            input_text_tokens=replies.estimate_tokens(
                self.config.instructions + "".join(_item_text(i) for i in items)
            ),
            input_audio_tokens=self._input_audio_ms // 100,
        )
        self._streaming = _Streaming(response, self._plan(response, items, text), input_usage)
        self._streaming.due = asyncio.get_running_loop().time()

    def _plan(self, response: LedgerResponse, items: list[Item], text: str | None) -> replies.Plan:
        config, options = self.config, response.options
        if text is None:
            turn = replies.last_turn(items)
            if isinstance(turn, Message) and turn.text:
                tools = options.tools if options.tools is not None else config.tools
                tool = replies.choose_tool(
                    tools, options.tool_choice or config.tool_choice, turn.text
                )
                if tool is not None:
                    return replies.Plan(events=[replies.tool_call(tool, turn.text, response.id)])
            text = replies.reply_text(items)
        if options.instructions:
            text = f"{options.instructions.rstrip('.')}. {text}"
        max_tokens = options.max_output_tokens
        return replies.speak(
            text,
            modalities=response.modalities,
            rate=config.output_sample_rate,
            voice=options.voice or config.voice or "alloy",
            ms_per_char=self.params.ms_per_char,
            max_tokens=config.max_output_tokens if max_tokens is None else max_tokens,
            response_id=response.id,
        )


def _item_text(item: Item) -> str:
    if isinstance(item, Message):
        return item.text or ""
    if isinstance(item, FunctionCallOutput):
        return item.output
    return item.arguments
