"""One client conversation on Nova Sonic: the ``ProviderSession``, on the provider kit.

The kit's ``UpstreamSupervisor`` keeps one Bedrock stream alive (lazy open, rotation before
Nova's connection limit, restart when a setting needs a new prompt, recovery with replay,
the backlog meanwhile); ``NovaLink`` is its Nova side. What is left here is Nova's policy
for the client's commands: text turns (and v1's spoken nudge), tool results on the stream
that asked for them, push-to-talk, and the audio coalescing that keeps the SDK's per-event
cost down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from rtcore.kit import (
    AnswerHold,
    AudioCoalescer,
    ConversationMirror,
    InputAudio,
    SupervisedSession,
    UpstreamSupervisor,
    flush_when_due,
    frames,
    silence,
)
from rtcore.provider import messages as n
from rtcore_bedrock_sonic.context import Live
from rtcore_bedrock_sonic.link import NovaLink
from rtcore_bedrock_sonic.models import resolve_voice
from rtcore_bedrock_sonic.options import Upstream
from rtcore_bedrock_sonic.replies import request_reply
from rtcore_bedrock_sonic.translate import Inbound

# Settings a live Nova stream cannot change: a new stream (a new prompt) takes them.
RESTART_FIELDS = frozenset(
    {"instructions", "voice", "tools", "tool_choice", "temperature", "top_p"}
    | {"max_output_tokens", "input_sample_rate", "output_sample_rate"}
)
# Nova's longest end-of-turn pause (LOW sensitivity) is 2 s: quiet after speech within it
# may be what ends the turn, so it goes at once; quiet past it (with no turn taken) was
# noise to Nova, and waits in batches again.
_ENDPOINT_WINDOW_MS = 2500.0
_ORDERED_AFTER_AUDIO = (n.CommitAudio, n.ClearAudio, n.CreateResponse, n.Configure)


class SonicSession(SupervisedSession[Live]):
    hold: AnswerHold
    audio: InputAudio

    def __init__(self, up: Upstream, config: n.SessionConfig) -> None:
        super().__init__(close_timeout_seconds=up.options.close_timeout_seconds)
        self.up = up
        self.config = config
        self.voice = resolve_voice(up.profile, config.voice)
        self.inbound = Inbound(config.output_modalities)
        self.inbound.turn.manual = config.turn_detection is None
        # Nova answers every turn itself; when the client is to ask (push-to-talk,
        # create_response false), the answer waits for its response.create.
        self.hold = AnswerHold()
        self.hold.follow(config)
        # interrupt_response false: speech during a reply reaches Nova after it (Nova
        # would cut its reply on hearing it), as the next turn.
        self._deferred: list[bytes] = []
        # Set when a reply ends with speech held back during it: the speech goes to Nova
        # then, not only when the client's next chunk happens to arrive.
        self._release_deferred = asyncio.Event()
        self.mirror = ConversationMirror()
        self.audio = InputAudio(config.input_sample_rate)
        # The AWS SDK costs ~0.5-0.8 ms of CPU per event it sends (SigV4 signing of every
        # event, event-stream framing, base64 twice) whatever its size: client audio goes
        # to Nova in fewer, larger audioInput events (docs/performance.md).
        self._coalescer = AudioCoalescer(up.options.audio_coalesce_ms, config.input_sample_rate * 2)
        self._audio_due = asyncio.Event()
        # Quiet after speech from which chunks go at once: one batch (and a chunk) before
        # the shortest pause Nova may end a turn on, since a decision sees the quiet as of
        # the last batch measured.
        pause = up.options.end_of_turn_pause_ms
        self._at_once_from_ms = max(0.0, pause - up.options.audio_coalesce_ms - 20.0)
        self._at_once_until_ms = max(_ENDPOINT_WINDOW_MS, pause + 500.0)
        self.lane = up.lanes.lane() if up.lanes is not None else None
        self.link = NovaLink(self)
        self.supervisor = UpstreamSupervisor[Live](
            self.link,
            up.options.policy(config.input_sample_rate),
            name="Bedrock",
            session=config.session_id,
        )
        self.held_results: list[n.FunctionCallOutput] = []
        self.commit_unanswered = False  # a commit no response.create has answered yet
        self._stop_generation = False  # a cancelled reply Nova is still generating
        self.start("bedrock-sonic-session", self._feeders())

    # -- ProviderSession --------------------------------------------------------------------

    async def on_command(self, command: n.Command) -> None:
        if isinstance(command, _ORDERED_AFTER_AUDIO) and self._coalescer.deadline is not None:
            # Held audio goes before what is sent upstream after it, so Nova hears the
            # client's order; a clear drops it instead. (Conversation bookkeeping sends
            # nothing upstream and leaves the batch alone.)
            if isinstance(command, n.ClearAudio):
                self._coalescer.take()
            else:
                await self._flush_audio()
        match command:
            case n.AppendAudio(pcm=pcm):
                await self._append(pcm)
            case n.Configure(config=config, changed=changed):
                self._configure(config, changed)
            case n.CommitAudio(item_id=item_id):
                self.hold.drop()  # a new turn: an answer held for the last one is moot
                self.inbound.turn.commit(item_id)
                self.commit_unanswered = True
                # Nova has no commit: a pause is what ends its user turn.
                await self._send_audio(silence(self.config.input_sample_rate, 1.6))
            case n.ClearAudio():
                self.audio.clear()
            case n.AddItem(item=n.FunctionCallOutput() as result):
                self.mirror.apply(command)
                if result.call_id in self.inbound.open_tool_calls:
                    self.held_results.append(result)
            case n.AddItem() | n.UpdateItem() | n.DeleteItem() | n.TruncateItem():
                self.mirror.apply(command)
            case n.CreateResponse():
                await request_reply(self, command)
            case n.CancelResponse(response_id=response_id):
                events, stop = self.inbound.cancel(self.hold.model_id(response_id))
                await self.emit(events)
                if stop:
                    # Nova has no cancel: it would go on generating the reply (and the
                    # next one would wait behind it). A fresh stream stops it, opened on
                    # the next command: the core's item for what was heard of the reply
                    # comes first, so the new stream's history has it.
                    self._stop_generation = True
                self.supervisor.wake()
                return
        if self._stop_generation:
            self._stop_generation = False
            self.supervisor.restart()

    async def before_close(self) -> None:
        await self._flush_audio()  # Bedrock's order: the audio, then contentEnd, ...

    async def after_close(self) -> None:
        if self.lane is not None and self.up.lanes is not None:
            self.up.lanes.release(self.lane)

    async def _feeders(self) -> None:
        """What sends audio besides the client's own chunks: coalesced audio once it has
        waited its budget, speech held back during a reply once the reply is over."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(flush_when_due(self._coalescer, self._audio_due, self._flush_audio))
            tg.create_task(self._release_when_due())

    async def _release_when_due(self) -> None:
        while True:
            await self._release_deferred.wait()
            self._release_deferred.clear()
            if self._deferred and not self._defers_speech():
                await self._flush_audio()
                held, self._deferred = b"".join(self._deferred), []
                await self._send_audio(held, client=True)

    def closing_events(self) -> list[n.Event]:
        return self.inbound.close()

    @property
    def tool_ids(self) -> set[str]:
        return self.link.tool_ids

    async def emit(self, events: Iterable[n.Event]) -> None:
        events = list(events)
        for event in events:
            if isinstance(event, n.ToolCall):
                self.link.tool_ids.add(event.call_id)
            elif isinstance(event, n.ResponseDone) and self._deferred:
                self._release_deferred.set()
        await super().emit(events)

    # -- commands ---------------------------------------------------------------------------

    def _configure(self, config: n.SessionConfig, changed: frozenset[str]) -> None:
        if "voice" in changed:
            # Validated by the core, with this provider's own rule (Capabilities).
            self.voice = resolve_voice(self.up.profile, config.voice)
        self.config = config
        self.inbound.modalities = config.output_modalities
        self.inbound.turn.manual = config.turn_detection is None
        self.hold.follow(config)
        if "input_sample_rate" in changed:
            self.audio = InputAudio(config.input_sample_rate)
            self._coalescer.configure(
                self.up.options.audio_coalesce_ms, config.input_sample_rate * 2
            )
        if changed & RESTART_FIELDS or (
            "turn_detection" in changed and self.up.profile.turn_detection
        ):
            # At a boundary now, what the client sends next waits for the new stream, so
            # the change applies from the very next turn.
            self.supervisor.restart()

    # -- audio ------------------------------------------------------------------------------

    async def _append(self, pcm: bytes) -> None:
        now = asyncio.get_running_loop().time()
        if self._may_hold():
            # Mid-speech or deep in silence, no reply playing: nothing the user hears waits
            # on this chunk, and its speech is measured with the batch it goes out in.
            self.audio.note(pcm)
            batch = self._coalescer.add(pcm, now)
            if batch is None:
                if not self._audio_due.is_set():
                    self._audio_due.set()
                return
            await self._heard(self.audio.settle(), deferring=False)
            await self._send_audio(batch, client=True)
            return
        began = self.audio.observe(pcm)
        deferring = self._defers_speech()
        await self._heard(began, deferring=deferring)
        if deferring:
            self._deferred.append(pcm)
            return
        if self._deferred:
            # The reply is over: what the user said during it goes to Nova now, in order.
            await self._flush_audio()
            held, self._deferred = b"".join(self._deferred), []
            await self._send_audio(held, client=True)
        batch = self._coalescer.add(pcm, now, hold=not self._urgent())
        if batch is not None:
            await self._send_audio(batch, client=True)
        elif not self._audio_due.is_set():
            self._audio_due.set()

    def _may_hold(self) -> bool:
        """Whether the next chunk may wait in a batch, from what is measured so far: not
        while a reply is live (speech then is a barge-in, or is held back for after it),
        nor once the user has gone quiet after speech Nova has not taken as a turn yet
        (its end-of-turn pause is running: the chunk that ends it starts the reply)."""
        if not self._coalescer.enabled or self.inbound.responses.responding or self._deferred:
            return False
        return not self._endpoint_pending(self.audio.measured_quiet_ms)

    def _urgent(self) -> bool:
        """This measured chunk goes at once: speech during a reply (a barge-in), or quiet
        inside Nova's end-of-turn window."""
        quiet = self.audio.measured_quiet_ms
        if quiet <= 0:
            return self.inbound.responses.responding
        return self._endpoint_pending(quiet)

    def _endpoint_pending(self, quiet_ms: float) -> bool:
        return (
            self.audio.measured_unanswered
            and self._at_once_from_ms < quiet_ms < self._at_once_until_ms
        )

    async def _heard(self, began: bool, *, deferring: bool) -> None:
        if began and (deferring or not self.up.profile.speech_signals):
            # Nova will not say so in time (v1 says nothing until its transcript; speech
            # held back from it is not heard yet): announce it from the audio.
            await self.emit(self.inbound.heard_speech_begin(self.audio.onset_ms))
        elif self.inbound.turn.awaiting_confirmation and not deferring and not self._deferred:
            # Nova's end-of-turn pause is at most 2 s: the kit's wait is longer.
            turn, audio = self.inbound.turn, self.audio
            await self.emit(turn.drop_if_noise(audio.quiet_for_ms(), int(audio.position_ms)))

    def _defers_speech(self) -> bool:
        td = self.config.turn_detection
        return (
            td is not None
            and not td.interrupt_response
            and self.inbound.responses.responding
            and not self.inbound.responses.discarding
        )

    def frame_bytes(self) -> int:
        # A coalesced batch is one event, whatever audio_frame_ms says.
        ms = max(self.up.options.audio_frame_ms, self.up.options.audio_coalesce_ms)
        return max(320, self.config.input_sample_rate * 2 * ms // 1000)

    def unsent_audio_bytes(self) -> int:
        # Batched, held back during a reply (interrupt_response false), or not yet taken
        # by a stream: none of it is a broken stream's to replay.
        deferred = sum(len(pcm) for pcm in self._deferred)
        return self._coalescer.held + deferred + self.supervisor.held_client_audio

    async def _flush_audio(self) -> None:
        pcm = self._coalescer.take()
        if pcm:
            # Measured as it goes out, as a full batch is: what the next chunk's hold is
            # decided on stays at most one batch behind.
            self.audio.settle_quietly()
            await self._send_audio(pcm, client=True)

    async def _send_audio(self, pcm: bytes, *, client: bool = False) -> None:
        size = self.frame_bytes()

        def build(live: Live) -> list[bytes]:
            return [live.writer.audio_chunk(f) for f in frames(pcm, size)]

        await self.supervisor.send(build, audio=len(pcm), client=len(pcm) if client else 0)
