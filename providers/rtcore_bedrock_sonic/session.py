"""One client conversation on Nova Sonic: the ``ProviderSession``.

Owns the upstream stream's lifecycle: lazy open, rotation before Nova's connection limit,
restart when the configuration needs a new prompt, recovery from transient failures, and
the shutdown order Bedrock requires. Everything the client sends while no stream can take
it waits in a bounded backlog and is replayed, so nothing is lost across a switch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator

import msgspec

from rtcore.kit import ConversationMirror, EventOutbox
from rtcore.provider import messages as n
from rtcore_bedrock_sonic import events as ev
from rtcore_bedrock_sonic.audio import InputAudio, frames, silence
from rtcore_bedrock_sonic.backlog import Backlog, Builder
from rtcore_bedrock_sonic.coalesce import AudioCoalescer
from rtcore_bedrock_sonic.errors import UpstreamFailure
from rtcore_bedrock_sonic.history import build_history, system_additions
from rtcore_bedrock_sonic.models import resolve_voice
from rtcore_bedrock_sonic.prompt import PromptWriter
from rtcore_bedrock_sonic.stream import SonicStream
from rtcore_bedrock_sonic.translate import Inbound
from rtcore_bedrock_sonic.trigger import SYSTEM_HINT, trigger_pcm
from rtcore_bedrock_sonic.upstream import Upstream

log = logging.getLogger(__name__)

RESTART_FIELDS = frozenset(
    {
        "instructions",
        "voice",
        "tools",
        "tool_choice",
        "temperature",
        "top_p",
        "max_output_tokens",
        "input_sample_rate",
        "output_sample_rate",
    }
)
_QUEUE_EVENTS = 512


class SonicSession:
    def __init__(self, up: Upstream, config: n.SessionConfig) -> None:
        self._up = up
        self._opts = up.options
        self._config = config
        self._voice = resolve_voice(up.profile, config.voice)
        self._outbox = EventOutbox(_QUEUE_EVENTS)
        self._inbound = Inbound(config.output_modalities)
        self._inbound.manual_turns = config.turn_detection is None
        self._mirror = ConversationMirror()
        self._audio = InputAudio(config.input_sample_rate)
        self._coalescer = AudioCoalescer(up.options.audio_coalesce_ms, config.input_sample_rate * 2)
        self._audio_due = asyncio.Event()
        self._stream: SonicStream | None = None
        self._writer: PromptWriter | None = None
        self._opened_at = 0.0
        self._switching = False
        self._needs_stream = False
        self._restart = False
        self._broken: UpstreamFailure | None = None
        self._recoveries: deque[float] = deque()
        self._backlog = Backlog()
        self._readers: dict[asyncio.Task[None], SonicStream] = {}
        self._held_results: list[n.FunctionCallOutput] = []
        self._stream_tool_ids: set[str] = set()
        # A client's commit that no response.create has answered yet.
        self._commit_unanswered = False
        self._last_event = time.monotonic()
        self._wake = asyncio.Event()
        self._closing = False
        self._finished = False
        self._tg: asyncio.TaskGroup | None = None
        self._runner = asyncio.create_task(self._run(), name="bedrock-sonic-session")

    # -- ProviderSession --------------------------------------------------------------------

    def events(self) -> AsyncIterator[n.Event]:
        return self._outbox

    async def send(self, command: n.Command) -> None:
        if self._finished:
            return
        if not isinstance(command, n.AppendAudio) and self._coalescer.deadline is not None:
            # Held audio goes first, so every other command stays in the client's order;
            # a clear drops it instead.
            if isinstance(command, n.ClearAudio):
                self._coalescer.take()
            else:
                await self._flush_audio()
        match command:
            case n.AppendAudio(pcm=pcm):
                self._audio.observe(pcm)
                batch = self._coalescer.add(pcm, asyncio.get_running_loop().time())
                if batch is not None:
                    await self._send_audio(batch, client=True)
                elif not self._audio_due.is_set():
                    self._audio_due.set()
            case n.Configure(config=config, changed=changed):
                await self._configure(config, changed)
            case n.CommitAudio(item_id=item_id):
                self._inbound.committed_item = item_id
                self._commit_unanswered = True
                # Nova has no commit: a pause is what ends its user turn.
                await self._send_audio(silence(self._config.input_sample_rate, 1.6))
            case n.ClearAudio():
                self._audio.clear()
            case n.AddItem(item=n.FunctionCallOutput() as result):
                self._mirror.apply(command)
                if result.call_id in self._inbound.open_tool_calls:
                    self._held_results.append(result)
            case n.AddItem() | n.UpdateItem() | n.DeleteItem() | n.TruncateItem():
                self._mirror.apply(command)
            case n.CreateResponse():
                await self._create_response(command)
            case n.CancelResponse(response_id=response_id):
                await self._emit(self._inbound.cancel(response_id))

    async def aclose(self) -> None:
        """Close upstream in Bedrock's order (contentEnd, promptEnd, sessionEnd), bounded."""
        await self._flush_audio()
        self._closing = True
        self._wake.set()
        stream, writer = self._stream, self._writer
        if stream is not None and writer is not None:
            await stream.close(writer.closing(), limit=self._opts.close_timeout_seconds)
        try:
            # The readers end on their own once Bedrock closes its side; cancelling a
            # reader parked in awscrt's receive makes awscrt fail later on a dead future.
            # _stop_readers: close_timeout_seconds, then 1 s after aborting late streams.
            async with asyncio.timeout(self._opts.close_timeout_seconds + 2):
                await asyncio.shield(self._runner)
        except TimeoutError:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        self._end_events()

    # -- commands ---------------------------------------------------------------------------

    async def _configure(self, config: n.SessionConfig, changed: frozenset[str]) -> None:
        if "voice" in changed:
            # Validated by the core, with this provider's own rule (Capabilities).
            self._voice = resolve_voice(self._up.profile, config.voice)
        self._config = config
        self._inbound.modalities = config.output_modalities
        self._inbound.manual_turns = config.turn_detection is None
        if "input_sample_rate" in changed:
            self._audio = InputAudio(config.input_sample_rate)
            budget = self._opts.audio_coalesce_ms
            self._coalescer = AudioCoalescer(budget, config.input_sample_rate * 2)
        needs_restart = bool(changed & RESTART_FIELDS) or (
            "turn_detection" in changed and self._up.profile.turn_detection
        )
        if needs_restart and self._stream is not None:
            self._restart = True
            if self._at_boundary(time.monotonic()):
                # Idle now: hold what the client sends next for the new stream, so the
                # change applies from the very next turn.
                self._switching = True
            self._wake.set()

    async def _create_response(self, create: n.CreateResponse) -> None:
        await self._emit(self._inbound.begin_requested(create, self._config.output_modalities))
        self._last_event = time.monotonic()
        results, self._held_results = self._held_results, []
        live = [r for r in results if r.call_id in self._stream_tool_ids]
        for result in live:
            self._inbound.open_tool_calls.pop(result.call_id, None)
            await self._send(_tool_result_builder(result))
        if live:
            return  # the tool result resumes Nova's own turn: no nudge needed
        texts = [i for i in self._mirror.unsent() if _is_user_text(i)]
        if self._commit_unanswered:
            # Push-to-talk: Nova answers the committed speech itself (the commit's pause
            # ends its turn); new text only joins it as context, and nothing nudges.
            self._commit_unanswered = False
            await self._context_text(texts, create.options.instructions)
            return
        await self._text_turn(texts, create.options.instructions)

    async def _context_text(self, items: list[n.Item], instructions: str | None) -> None:
        text = _turn_text(items, instructions)
        if not text:
            return
        ids = [i.id for i in items]

        def build(w: PromptWriter) -> list[bytes]:
            self._mirror.mark_sent(ids)
            return w.text_block("USER", text, interactive=False)

        await self._send(build)

    async def _text_turn(self, items: list[n.Item], instructions: str | None) -> None:
        """Send the client's new user text (and this response's instructions) as a turn.
        The items count as sent once the turn is on a stream: a stream opening before then
        must not also get them as history."""
        profile = self._up.profile
        self._inbound.suppress_next_user_turn = True
        text = _turn_text(items, instructions)
        ids = [i.id for i in items]
        if profile.interactive_text:
            prompt = text or "Please go on."

            def build_text(w: PromptWriter) -> list[bytes]:
                self._mirror.mark_sent(ids)
                return w.text_block("USER", prompt, interactive=True)

            await self._send(build_text)
            return
        # v1 answers only speech: the text goes in as context, then the spoken nudge.
        nudge = trigger_pcm(self._config.input_sample_rate, wav_path=self._opts.text_trigger_wav)
        size = self._frame_bytes()

        def build(w: PromptWriter) -> list[bytes]:
            self._mirror.mark_sent(ids)
            out = w.text_block("USER", text, interactive=False) if text else []
            return out + [w.audio_chunk(f) for f in frames(nudge, size)]

        await self._send(build)

    # -- sending ----------------------------------------------------------------------------

    def _frame_bytes(self) -> int:
        # A coalesced batch is one event, whatever audio_frame_ms says.
        ms = max(self._opts.audio_frame_ms, self._opts.audio_coalesce_ms)
        return max(320, self._config.input_sample_rate * 2 * ms // 1000)

    async def _flush_audio(self) -> None:
        pcm = self._coalescer.take()
        if pcm:
            await self._send_audio(pcm, client=True)

    async def _flush_when_due(self) -> None:
        """Send held client audio once it has waited its budget (the client paused)."""
        loop = asyncio.get_running_loop()
        while True:
            await self._audio_due.wait()
            deadline = self._coalescer.deadline
            if deadline is None:
                self._audio_due.clear()
                continue
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            self._audio_due.clear()
            await self._flush_audio()

    async def _send_audio(self, pcm: bytes, *, client: bool = False) -> None:
        size = self._frame_bytes()

        def build(w: PromptWriter) -> list[bytes]:
            return [w.audio_chunk(f) for f in frames(pcm, size)]

        await self._send(build, audio=len(pcm), client=len(pcm) if client else 0)

    async def _send(self, build: Builder, *, audio: int = 0, client: int = 0) -> None:
        stream, writer = self._stream, self._writer
        if self._switching or stream is None or writer is None or self._backlog:
            self._hold(build, audio, client)
            return
        try:
            await stream.send(build(writer))
        except UpstreamFailure as failure:
            self._hold(build, audio, client)
            self._note_failure(stream, failure)

    def _hold(self, build: Builder, audio: int, client: int = 0) -> None:
        limit = int(self._opts.max_backlog_seconds * self._config.input_sample_rate * 2)
        self._backlog.hold(build, audio, client, limit_bytes=limit)
        if self._stream is None and not self._switching:
            self._needs_stream = True
        self._wake.set()

    def _note_failure(self, stream: SonicStream, failure: UpstreamFailure) -> None:
        if stream is self._stream and not self._closing and self._broken is None:
            self._broken = failure
            self._wake.set()

    # -- events -----------------------------------------------------------------------------

    async def _emit(self, events: list[n.Event]) -> None:
        for event in events:
            match event:
                case n.ToolCall(call_id=call_id):
                    self._stream_tool_ids.add(call_id)
                case n.ResponseDone():
                    self._wake.set()  # a turn boundary: rotation may be due
            await self._outbox.put(event)

    def _end_events(self) -> None:
        """The last events: every response still open ends (the session closes under it)."""
        if not self._finished:
            self._finished = True
            for event in self._inbound.close():
                self._outbox.put_nowait(event)
            self._outbox.end()

    async def _read(self, stream: SonicStream) -> None:
        failure: UpstreamFailure | None = None
        try:
            while (data := await stream.receive()) is not None:
                try:
                    event = ev.decode(data)
                except msgspec.DecodeError:
                    log.warning("ignoring an undecodable Nova Sonic event")
                    continue
                if stream is not self._stream:
                    continue  # late output of a retired stream
                self._last_event = time.monotonic()
                audio = self._audio
                out = self._inbound.feed(
                    event, audio_ms=int(audio.position_ms), onset_ms=audio.onset_ms
                )
                if _heard_user(event, out):
                    audio.acknowledge()
                await self._emit(out)
            # The SDK ends a dropped connection exactly like a clean end.
            failure = UpstreamFailure(
                "stream_ended", "Bedrock ended the stream unexpectedly.", retryable=True
            )
        except UpstreamFailure as exc:
            failure = exc
        self._note_failure(stream, failure)

    # -- the stream's lifecycle -------------------------------------------------------------

    async def _run(self) -> None:
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                flusher = tg.create_task(self._flush_when_due(), name="bedrock-sonic-coalesce")
                try:
                    await self._maintain()
                except UpstreamFailure as failure:
                    await self._fatal(failure)
                finally:
                    flusher.cancel()
                    await self._stop_readers()
        finally:
            self._end_events()

    async def _stop_readers(self) -> None:
        pending = {r: s for r, s in self._readers.items() if not r.done()}
        if pending:
            await asyncio.wait(pending, timeout=self._opts.close_timeout_seconds)
        late = [r for r in pending if not r.done()]
        if late:
            # Aborting a stream ends the receive awscrt has parked; cancelling the reader
            # instead leaves awscrt resolving a cancelled future later (an unraisable error).
            for reader in late:
                await pending[reader].abort()
            await asyncio.wait(late, timeout=1.0)
        for reader in late:
            if not reader.done():
                reader.cancel()

    async def _maintain(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.1):
                    await self._wake.wait()
            self._wake.clear()
            now = time.monotonic()
            if (
                self._inbound.done_pending
                and now - self._last_event >= self._opts.usage_grace_seconds
            ):
                await self._emit(self._inbound.flush())
            if self._broken is None and self._stalled(now):
                self._broken = UpstreamFailure(
                    "stream_stalled", "Bedrock stopped answering mid-turn.", retryable=True
                )
            if self._broken is not None:
                await self._recover(self._broken)
            elif (self._stream is None and self._needs_stream) or self._switch_due(now):
                # Only when the connection limit forces a switch can speech be pending.
                await self._switch(replay=self._unheard_audio())

    def _stalled(self, now: float) -> bool:
        waiting = self._inbound.response_active or self._inbound.user_turn_open
        return (
            self._stream is not None
            and waiting
            and now - self._last_event > self._opts.stall_timeout_seconds
        )

    def _switch_due(self, now: float) -> bool:
        if self._stream is None:
            return False
        if self._restart and self._switching:
            return True  # decided at a boundary by _configure
        if not self._at_boundary(now):
            return False
        return self._restart or now - self._opened_at >= self._opts.rotate_after_seconds

    def _at_boundary(self, now: float) -> bool:
        age = now - self._opened_at
        limit = self._opts.connection_limit_seconds
        # Close to the limit, rotate even mid-tool-call or with speech pending (it is
        # replayed): 30 s before it, or halfway from the rotation point for short limits.
        margin = min(30.0, max(0.0, limit - self._opts.rotate_after_seconds) / 2)
        hurry = age >= limit - margin
        return (
            not self._inbound.response_active
            and self._inbound.done_pending is None
            and not self._inbound.user_turn_open
            and not self._audio.speaking_recently()
            # Speech Nova has not acknowledged yet (its end-of-turn pause is still
            # running) would leave with the old stream.
            and (hurry or not self._audio.unanswered())
            and (hurry or not self._inbound.open_tool_calls)
        )

    def _system_prompt(self) -> str:
        parts = [self._config.instructions, system_additions(self._mirror.items)]
        if not self._up.profile.interactive_text:
            parts.append(SYSTEM_HINT)
        return "\n\n".join(p for p in parts if p.strip())

    async def _open(self) -> tuple[SonicStream, PromptWriter]:
        delay = self._opts.backoff_initial_seconds
        attempts = max(1, self._opts.max_open_attempts)
        for attempt in range(attempts):
            writer = PromptWriter(self._up.profile)
            opening = writer.opening(
                self._config,
                voice=self._voice,
                system_prompt=self._system_prompt(),
                history=build_history(self._history_items()),
            )
            opening.append(writer.audio_start(self._config.input_sample_rate))
            try:
                stream = await SonicStream.open(
                    self._up.client,
                    self._up.model_id,
                    opening,
                    limit=self._opts.open_timeout_seconds,
                    region=self._up.region,
                )
            except UpstreamFailure as failure:
                if not failure.retryable or attempt == attempts - 1:
                    raise
                log.info("opening Bedrock stream failed (%s); retrying", failure.code)
                await asyncio.sleep(delay * (0.75 + random.random() / 2))
                delay = min(delay * 2, self._opts.backoff_max_seconds)
                continue
            return stream, writer
        raise AssertionError("unreachable")

    def _history_items(self) -> list[n.Item]:
        """What a new stream gets as history: the conversation, less the user text a text
        turn still has to send. Everything else counts as sent from here on."""
        waiting = {i.id for i in self._mirror.unsent() if _is_user_text(i)}
        self._mirror.mark_sent(i.id for i in self._mirror.items if i.id not in waiting)
        return [i for i in self._mirror.items if i.id not in waiting]

    async def _switch(self, *, replay: list[bytes]) -> None:
        """Open a fresh stream with the whole conversation, hand over, retire the old one."""
        assert self._tg is not None
        self._switching = True
        self._needs_stream = False
        self._restart = False
        new, writer = await self._open()  # an UpstreamFailure here ends the session
        old, old_writer = self._stream, self._writer
        self._stream, self._writer = new, writer
        self._stream_tool_ids = set()
        self._opened_at = self._last_event = time.monotonic()
        self._readers = {t: s for t, s in self._readers.items() if not t.done()}
        self._readers[self._tg.create_task(self._read(new))] = new
        try:
            size = self._frame_bytes()
            if replay:
                await new.send([writer.audio_chunk(f) for p in replay for f in frames(p, size)])
            for build in self._backlog.drain():
                await new.send(build(writer))
        except UpstreamFailure as failure:
            self._note_failure(new, failure)
        finally:
            self._switching = False
        if old is not None and old_writer is not None:
            await old.close(old_writer.closing(), limit=self._opts.close_timeout_seconds)

    async def _recover(self, failure: UpstreamFailure) -> None:
        self._broken = None
        self._switching = True
        # Decided before any await: audio arriving from now on is held for the new stream.
        # And before the broken stream is dropped: what it heard but never answered is
        # measured against it.
        unanswered = self._inbound.user_turn_open or (
            self._audio.speaking_recently(3000) and not self._inbound.response_active
        )
        sent = self._sent_ms()
        replay = self._audio.recent(until_ms=sent) if unanswered else self._unheard_audio()
        broken, self._stream = self._stream, None
        if broken is not None:
            await broken.abort()
        await self._emit(self._inbound.fail())
        now = time.monotonic()
        while self._recoveries and now - self._recoveries[0] > 60:
            self._recoveries.popleft()
        self._recoveries.append(now)
        if not failure.retryable or len(self._recoveries) > self._opts.max_recoveries_per_minute:
            raise failure
        log.warning("Bedrock stream failed (%s: %s); reconnecting", failure.code, failure.message)
        await self._switch(replay=replay)

    def _sent_ms(self) -> float:
        """Where the client's audio that reached the current stream ends (the rest is
        still in the backlog, in order, and will be sent anyway)."""
        return self._audio.position_ms - self._backlog.client_audio / self._audio.bytes_per_ms

    def _unheard_audio(self) -> list[bytes]:
        """Speech the current stream received but never acknowledged, to replay on the
        next one. Empty for a first stream: all its audio is still in the backlog."""
        if self._stream is None:
            return []
        return self._audio.unanswered_audio(until_ms=self._sent_ms())

    async def _fatal(self, failure: UpstreamFailure) -> None:
        log.error("Bedrock session ended (%s): %s", failure.code, failure.message)
        self._closing = True
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.abort()
        events: list[n.Event] = list(self._inbound.fail())
        events.append(n.ProviderError(code=failure.code, message=failure.message, fatal=True))
        for event in events:
            self._outbox.put_nowait(event)


def _heard_user(event: ev.OutputEvent, out: list[n.Event]) -> bool:
    """Nova showed it heard the user's speech so far: its USER transcript block began, or
    it detected a barge-in."""
    start = event.content_start
    if start is not None and start.role.upper() == "USER":
        return True
    return any(isinstance(e, n.SpeechStarted) for e in out)


def _turn_text(items: list[n.Item], instructions: str | None) -> str:
    text = "\n".join(i.text for i in items if isinstance(i, n.Message) and i.text)
    if instructions:
        text = f"{text}\n\n(Instructions for this reply: {instructions})"
    return text.strip()


def _is_user_text(item: n.Item) -> bool:
    return isinstance(item, n.Message) and item.role == "user" and bool(item.text)


def _tool_result_builder(result: n.FunctionCallOutput) -> Builder:
    return lambda w: w.tool_result(result.call_id, result.output)
