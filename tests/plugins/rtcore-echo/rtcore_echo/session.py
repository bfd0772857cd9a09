"""One echo conversation: a single worker task between an inbox and an outbox.

``send`` only puts the command in the inbox, so it never waits for output. The worker
handles commands in order and, while a response is active, emits its next planned event
whenever ``chunk_delay_ms`` passes without a new command; a ``CancelResponse`` or a barge-in
arriving mid-response is therefore handled between two chunks. ``events`` reads the outbox
until the worker stops (after ``aclose``).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Final

from rtcore.neutral import (
    AddItem,
    AppendAudio,
    AudioDelta,
    CancelResponse,
    ClearAudio,
    Command,
    CommitAudio,
    Configure,
    CreateResponse,
    DeleteItem,
    Event,
    FunctionCallOutput,
    InputTranscript,
    Item,
    Message,
    ResponseDone,
    ResponseOptions,
    ResponseStarted,
    ResponseStatus,
    SessionConfig,
    SpeechStarted,
    SpeechStopped,
    TextDelta,
    ToolCall,
    TranscriptDelta,
    TruncateItem,
    Usage,
)
from rtcore_echo import replies
from rtcore_echo.params import EchoParams
from rtcore_echo.vad import EnergyDetector, VoiceStart

DEFAULT_SILENCE_MS: Final = 500
_CLOSE: Final = object()  # inbox sentinel: stop after the commands before it
_END: Final = object()  # outbox sentinel: no more events


class _Active:
    """The response being streamed: what is left to emit and what was emitted."""

    def __init__(self, plan: replies.Plan, input_usage: Usage, due: float) -> None:
        self.pending = deque(plan.events)
        self.plan = plan
        self.input_usage = input_usage
        self.due = due
        self.text = ""
        self.audio_bytes = 0
        self.tool_chars = 0

    def note(self, event: Event) -> None:
        if isinstance(event, TextDelta | TranscriptDelta):
            self.text += event.text
        elif isinstance(event, AudioDelta):
            self.audio_bytes += len(event.pcm)
        elif isinstance(event, ToolCall):
            self.tool_chars += len(event.name) + len(event.arguments)

    def usage(self, rate: int) -> Usage:
        """Counts for what was actually emitted, so a cancelled response reports less."""
        audio_ms = self.audio_bytes * 1000 // (2 * rate)
        return Usage(
            input_text_tokens=self.input_usage.input_text_tokens,
            input_audio_tokens=self.input_usage.input_audio_tokens,
            output_text_tokens=replies.estimate_tokens(self.text) + (self.tool_chars + 3) // 4,
            output_audio_tokens=audio_ms // 50,  # about 20 audio tokens per second
        )


class _EventStream:
    """The outbox as an async iterator. Not an async generator: cancelling a reader that
    waits (a timeout, say) must not end the stream, and an awaited ``Queue.get`` can be
    cancelled without losing an event."""

    def __init__(self, session: EchoSession) -> None:
        self._session = session

    def __aiter__(self) -> _EventStream:
        return self

    async def __anext__(self) -> Event:
        session = self._session
        event = await session._outbox.get()
        if event is _END:
            session._outbox.put_nowait(_END)  # stay ended for any later read
            task = session._task
            if not task.cancelled() and (exc := task.exception()) is not None:
                raise exc  # a bug in the worker surfaces in the reader, not in a log line
            raise StopAsyncIteration
        return event  # type: ignore[return-value]  # everything but the sentinel is an Event


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
        self.items: list[Item] = []
        self._on_close = on_close
        self._inbox: asyncio.Queue[Command | object] = asyncio.Queue()
        # Unbounded: output is paced and finite per response, and the core reads it
        # continuously; a slow reader costs memory for one response at most.
        self._outbox: asyncio.Queue[Event | object] = asyncio.Queue()
        self._active: _Active | None = None
        self._queued: deque[CreateResponse] = deque()
        self._detector = EnergyDetector(config.input_sample_rate, params.vad_threshold, 0)
        self._configure_detector()
        self._buffered_bytes = 0  # input audio since the last commit / clear / turn end
        self._input_audio_ms = 0  # all input audio, for usage
        self._ids = itertools.count(1)
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="rtcore-echo session")

    # -- the ProviderSession interface --------------------------------------------------

    async def send(self, command: Command) -> None:
        if self._closing:
            raise RuntimeError("echo session is closed")
        self._inbox.put_nowait(command)

    def events(self) -> AsyncIterator[Event]:
        return _EventStream(self)

    async def aclose(self) -> None:
        if not self._closing:
            self._closing = True
            self._inbox.put_nowait(_CLOSE)
            self._on_close(self)
        # Cancelling the caller cancels the worker too (awaiting a task propagates it).
        await asyncio.wait([self._task])

    # -- the worker ---------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                command = await self._next_command(loop)
                if command is None:
                    self._step()
                    await asyncio.sleep(0)  # let the reader run even with no delay
                elif command is _CLOSE:
                    # The session ends mid-response: the response still gets its one
                    # ResponseDone, so the core's bookkeeping stays right.
                    self._finish("cancelled", None)
                    return
                else:
                    self._handle(command)  # type: ignore[arg-type]  # not a sentinel
        finally:
            self._outbox.put_nowait(_END)

    async def _next_command(self, loop: asyncio.AbstractEventLoop) -> Command | object | None:
        """The next command, or None when the active response's next event is due first."""
        active = self._active
        if active is None or not self._inbox.empty():
            return await self._inbox.get()
        wait = active.due - loop.time()
        if wait <= 0:
            return None
        try:
            return await asyncio.wait_for(self._inbox.get(), wait)
        except TimeoutError:
            return None

    def _emit(self, event: Event) -> None:
        self._outbox.put_nowait(event)

    def _step(self) -> None:
        active = self._active
        assert active is not None
        if not active.pending:
            self._finish(active.plan.status, active.plan.reason)
            return
        event = active.pending.popleft()
        active.note(event)
        self._emit(event)
        active.due = asyncio.get_running_loop().time() + self.params.chunk_delay_ms / 1000

    def _finish(self, status: ResponseStatus, reason: str | None) -> None:
        """End the active response with its one ResponseDone, then start a queued one."""
        active, self._active = self._active, None
        if active is None:
            return
        usage = active.usage(self.config.output_sample_rate)
        self._emit(ResponseDone(status=status, reason=reason, usage=usage))
        if self._queued and not self._closing:
            self._start(self._queued.popleft().options)

    # -- commands -----------------------------------------------------------------------

    def _handle(self, command: Command) -> None:
        match command:
            case Configure(config=config):
                self.config = config
                self._configure_detector()
            case AppendAudio(pcm=pcm):
                self._append_audio(pcm)
            case CommitAudio(item_id=item_id):
                self._commit(item_id)
            case ClearAudio():
                self._detector.reset()
                self._buffered_bytes = 0
            case AddItem(item=item, previous_item_id=previous):
                self._add_item(item, previous)
            case DeleteItem(item_id=item_id):
                self.items = [i for i in self.items if i.id != item_id]
            case TruncateItem(item_id=item_id, text=text):
                self.items = [_with_text(i, text) if i.id == item_id else i for i in self.items]
            case CreateResponse(options=options) as create:
                if self._active is None:
                    self._start(options)
                else:
                    # One response at a time: a request racing a VAD-started response
                    # waits its turn instead of interleaving with it.
                    self._queued.append(create)
            case CancelResponse():
                self._finish("cancelled", "client_cancelled")

    def _add_item(self, item: Item, previous: str | None) -> None:
        self.items = [i for i in self.items if i.id != item.id]
        if previous is None:
            self.items.insert(0, item)
            return
        ids = [i.id for i in self.items]
        at = ids.index(previous) + 1 if previous in ids else len(self.items)
        self.items.insert(at, item)

    # -- audio input --------------------------------------------------------------------

    def _configure_detector(self) -> None:
        td = self.config.turn_detection
        silence = td.silence_duration_ms if td and td.silence_duration_ms else DEFAULT_SILENCE_MS
        self._detector.configure(self.config.input_sample_rate, self.params.vad_threshold, silence)

    def _append_audio(self, pcm: bytes) -> None:
        self._buffered_bytes += len(pcm)
        self._input_audio_ms += len(pcm) * 1000 // (2 * self.config.input_sample_rate)
        td = self.config.turn_detection
        if td is None:
            return  # manual turns: wait for CommitAudio
        for voice in self._detector.feed(pcm):
            if isinstance(voice, VoiceStart):
                self._emit(SpeechStarted(audio_start_ms=voice.start_ms))
                if self._active is not None and td.interrupt_response:
                    self._queued.clear()
                    self._finish("cancelled", "turn_detected")
                continue
            self._emit(SpeechStopped(audio_end_ms=voice.end_ms))
            self._user_turn(f"echo_item_{next(self._ids)}", voice.speech_ms)
            if td.create_response and self._active is None:
                self._emit(ResponseStarted())
                self._start(ResponseOptions(), text=replies.HEARD)

    def _commit(self, item_id: str) -> None:
        ms = self._buffered_bytes * 1000 // (2 * self.config.input_sample_rate)
        self._detector.reset()
        self._user_turn(item_id, ms)

    def _user_turn(self, item_id: str, spoken_ms: int) -> None:
        """A user's spoken turn ended: transcribe it and remember it as a user message."""
        self._buffered_bytes = 0
        text = f"(spoken {spoken_ms} ms)"
        if self.config.input_transcription:
            self._emit(InputTranscript(text=text, final=True))
        self._add_item(
            Message(id=item_id, role="user", text=text, has_audio=True),
            self.items[-1].id if self.items else None,
        )

    # -- responses ----------------------------------------------------------------------

    def _start(self, options: ResponseOptions, *, text: str | None = None) -> None:
        config = self.config
        input_usage = Usage(
            input_text_tokens=replies.estimate_tokens(
                config.instructions + "".join(_item_text(i) for i in self.items)
            ),
            input_audio_tokens=self._input_audio_ms // 100,
        )
        plan = self._plan(options, text)
        now = asyncio.get_running_loop().time()
        self._active = _Active(plan, input_usage, due=now)

    def _plan(self, options: ResponseOptions, text: str | None) -> replies.Plan:
        config = self.config
        if text is None:
            turn = replies.last_turn(self.items)
            if isinstance(turn, Message) and turn.text:
                tools = options.tools if options.tools is not None else config.tools
                choice = options.tool_choice or config.tool_choice
                tool = replies.choose_tool(tools, choice, turn.text)
                if tool is not None:
                    return replies.Plan(events=[replies.tool_call(tool, turn.text)])
            text = replies.reply_text(self.items)
        max_tokens = (
            options.max_output_tokens
            if options.max_output_tokens is not None
            else config.max_output_tokens
        )
        return replies.speak(
            text,
            modalities=options.output_modalities or config.output_modalities,
            rate=config.output_sample_rate,
            voice=options.voice or config.voice or "alloy",
            ms_per_char=self.params.ms_per_char,
            max_tokens=max_tokens,
        )


def _item_text(item: Item) -> str:
    if isinstance(item, Message):
        return item.text or ""
    if isinstance(item, FunctionCallOutput):
        return item.output
    return item.arguments


def _with_text(item: Item, text: str) -> Item:
    if isinstance(item, Message):
        return Message(id=item.id, role=item.role, text=text, has_audio=item.has_audio)
    return item
