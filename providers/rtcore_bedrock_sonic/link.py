"""Nova Sonic's side of the kit's upstream supervisor: how one Bedrock stream opens with
the conversation so far, is read, and when a turn is in flight.

The supervisor decides when to open, rotate, recover and close; this adapter knows Nova:
the opening (system prompt, history rendered from the conversation mirror, the open audio
block), reading and translating its events, and what counts as a turn boundary or unheard
speech.
"""

from __future__ import annotations

import logging
import time

import msgspec

from rtcore.kit import UpstreamFailure, frames, owed
from rtcore.provider import messages as n
from rtcore_bedrock_sonic import events as ev
from rtcore_bedrock_sonic.context import Live, SessionContext
from rtcore_bedrock_sonic.credentials import retire_before
from rtcore_bedrock_sonic.history import HistoryMessage, build_history, system_additions
from rtcore_bedrock_sonic.models import retirement_notice
from rtcore_bedrock_sonic.prompt import PromptWriter
from rtcore_bedrock_sonic.spoken_nudge import SYSTEM_HINT
from rtcore_bedrock_sonic.stream import SonicStream

log = logging.getLogger(__name__)


class NovaLink:
    def __init__(self, session: SessionContext) -> None:
        self._s = session
        # Tool calls of the live stream: a toolUseId means nothing to another stream.
        self.tool_ids: set[str] = set()

    async def open(self) -> Live:
        s = self._s
        writer = PromptWriter(s.up.profile)
        opening = writer.opening(
            s.config, voice=s.voice, system_prompt=self._system_prompt(), history=self._history()
        )
        opening.append(writer.audio_start(s.config.input_sample_rate))
        stream = await SonicStream.open(
            s.up.client,
            s.up.model_id,
            opening,
            limit=s.up.options.open_timeout_seconds,
            region=s.up.region,
            lane=s.lane,
        )
        self.tool_ids = set()
        s.inbound.new_stream()
        # Signed with the credentials in use now: retired before they expire, because a
        # credential change breaks a live Bedrock stream.
        expiration = getattr(s.up.credentials, "expiration", None)
        left = retire_before(expiration)
        retire_at = None if left is None else time.monotonic() + left
        return Live(stream=stream, writer=writer, retire_at=retire_at)

    def expires(self, live: Live) -> float | None:
        return live.retire_at

    def _system_prompt(self) -> str:
        s = self._s
        parts = [s.config.instructions, system_additions(s.mirror.items)]
        if not s.up.profile.interactive_text:
            parts.append(SYSTEM_HINT)
        return "\n\n".join(p for p in parts if p.strip())

    def _history(self) -> list[HistoryMessage]:
        """The conversation, less the user text a text turn still has to send (it goes
        there, not here). Everything else counts as sent from here on."""
        mirror = self._s.mirror
        waiting = {i.id for i in owed(mirror) if is_user_text(i)}
        mirror.mark_sent(i.id for i in mirror.items if i.id not in waiting)
        return build_history([i for i in mirror.items if i.id not in waiting])

    async def send(self, live: Live, payload: list[bytes]) -> None:
        await live.stream.send(payload)

    async def close(self, live: Live) -> None:
        await live.stream.close(
            live.writer.closing(), limit=self._s.up.options.close_timeout_seconds
        )

    async def abort(self, live: Live) -> None:
        await live.stream.abort()

    def audio_payload(self, live: Live, pcm: list[bytes]) -> list[bytes]:
        # Bedrock suggests small audioInput frames.
        size = self._s.frame_bytes()
        return [live.writer.audio_chunk(f) for p in pcm for f in frames(p, size)]

    async def read(self, live: Live) -> None:
        s, sup = self._s, self._s.supervisor
        heard = False
        while (data := await live.stream.receive()) is not None:
            heard = True
            try:
                event = ev.decode(data)
            except msgspec.DecodeError:
                log.warning("ignoring an undecodable Nova Sonic event")
                continue
            if not sup.is_current(live):
                continue  # late output of a retired stream
            sup.heard_from(live)
            audio, before = s.audio, self._watched()
            out = s.inbound.feed(event, audio_ms=int(audio.position_ms), onset_ms=audio.onset_ms)
            if _heard_user(event, out):
                audio.acknowledge()
            if self._watched() != before:
                sup.wake()  # a turn began or ended: the supervisor's deadlines change
            await s.emit(out)
        if not heard and (retired := s.up.retired) is not None:
            # What Bedrock does with a retired model: it ends the stream without a word.
            raise UpstreamFailure(
                "model_retired",
                f"Bedrock ended the stream without answering: {retirement_notice(retired)}. "
                f"Its successor is {retired.successor}: drop model_info.use_successor: "
                "false to be served by it.",
                retryable=False,
            )

    def _watched(self) -> tuple[bool, bool, bool]:
        inbound = self._s.inbound
        return (inbound.responses.responding, inbound.user_turn_open, inbound.done_pending is None)

    # -- what the supervisor asks -------------------------------------------------------

    def at_boundary(self, hurry: bool) -> bool:
        inbound, audio = self._s.inbound, self._s.audio
        return (
            # A cancelled reply Nova is still generating is no turn to wait for.
            (not inbound.responses.responding or inbound.responses.discarding)
            and inbound.done_pending is None
            and not inbound.user_turn_open
            and not audio.speaking_recently()
            # Speech Nova has not acknowledged yet (its end-of-turn pause is still
            # running) would leave with the old stream.
            and (hurry or not audio.unanswered())
            and (hurry or not inbound.open_tool_calls)
        )

    def waiting(self) -> bool:
        return self._s.inbound.responses.responding or self._s.inbound.user_turn_open

    def replay(self, recovering: bool) -> list[bytes]:
        # Nova ends a user turn only after 1.5-2 s of silence: until its USER transcript
        # begins, the speech it holds is unacknowledged, and a stream retired in that window
        # would take the turn with it.
        """What the next stream must hear again: speech the current one received but never
        acknowledged (for a broken stream, the last 3 s of a turn it was still taking)."""
        s = self._s
        return s.audio.replay(
            unsent_bytes=s.unsent_audio_bytes(),
            recovering=recovering,
            turn_open=s.inbound.user_turn_open,
            answering=s.inbound.responses.responding,
        )

    async def lost(self, failure: UpstreamFailure, fatal: bool) -> None:
        s = self._s
        events = s.inbound.fail(n.ResponseError(code=failure.code, message=failure.message))
        await s.report_lost(events, failure, fatal=fatal)

    async def tick(self, now: float) -> float | None:
        """A finished response waits ``usage_grace_seconds`` for its usage event."""
        s = self._s
        if s.inbound.done_pending is None:
            return None
        due = s.supervisor.last_event + s.up.options.usage_grace_seconds
        if now >= due:
            await s.emit(s.inbound.flush())
            return None
        return due


def is_user_text(item: n.Item) -> bool:
    return isinstance(item, n.Message) and item.role == "user" and bool(item.text)


def _heard_user(event: ev.OutputEvent, out: list[n.Event]) -> bool:
    """Nova showed it took the user's speech so far: its USER transcript block began, or it
    stopped a reply for it (a barge-in). Nova 2's userSpeechStart is not that: the turn it
    starts is still Nova's to end, and a stream retired before then would take it along."""
    start = event.content_start
    if start is not None and start.role.upper() == "USER":
        return True
    if event.user_speech_start is not None:
        return any(isinstance(e, n.ResponseDone) for e in out)
    return any(isinstance(e, n.SpeechStarted) for e in out)
