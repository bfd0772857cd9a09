"""One client conversation on Gemini Live: the ``ProviderSession``, on the provider kit.

The kit's ``UpstreamSupervisor`` keeps one Gemini connection alive (opened when first
needed, so its setup carries the client's settings; rotated on ``goAway``; replaced when a
setting needs a new setup; recovered from the last resumption handle, replaying unanswered
audio; a backlog meanwhile); ``GeminiLink`` (link.py) is its Gemini side. What is left here is the
policy for the client's commands: text turns and tool results sent when a response is
asked for, push-to-talk turns, answers held until the client asks (``AnswerHold``), and
what Gemini cannot do in place (cancel a reply, forget or shorten an item), done by
replacing the connection with one seeded from the conversation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from rtcore.kit import (
    AnswerHold,
    ConversationMirror,
    InputAudio,
    OutOfBandReplies,
    SupervisedSession,
    UpstreamAdapter,
    UpstreamSupervisor,
)
from rtcore.provider import messages as n
from rtcore_gemini_live.inbound import Inbound
from rtcore_gemini_live.live import Live, audio_messages
from rtcore_gemini_live.models import resolve_voice
from rtcore_gemini_live.push_to_talk import PushToTalk, turn_messages
from rtcore_gemini_live.reply import ReplyRequest
from rtcore_gemini_live.resumption import Resumption
from rtcore_gemini_live.side import side_reply
from rtcore_gemini_live.upstream import Upstream

log = logging.getLogger(__name__)

# Settings a live connection cannot take: a new connection (resuming) takes them.
RESTART_FIELDS = frozenset(
    {"instructions", "voice", "tools", "temperature", "top_p", "max_output_tokens"}
    | {"turn_detection"}
)


class GeminiSession(SupervisedSession[Live]):
    hold: AnswerHold
    audio: InputAudio

    def __init__(
        self,
        up: Upstream,
        config: n.SessionConfig,
        link: Callable[[GeminiSession], UpstreamAdapter[Live]],
    ) -> None:
        """``link``: the Gemini side of the supervisor, made for this session."""
        super().__init__(close_timeout_seconds=up.options.close_timeout_seconds)
        self.up = up
        self.config = config
        self.voice = resolve_voice(config.voice)
        self.inbound = Inbound(
            config.output_modalities, blocking_tools=up.profile.tool_behavior != "NON_BLOCKING"
        )
        self.inbound.turn.manual = config.turn_detection is None
        # Gemini answers every turn: where the client is to ask, the answer waits for it.
        self.hold = AnswerHold()
        self.hold.follow(config)
        self.mirror = ConversationMirror()
        self.audio = InputAudio(config.input_sample_rate)
        self.resumption = Resumption()
        self.held_results: list[n.FunctionCallOutput] = []
        self.commit_pending = False  # a push-to-talk turn no response.create has claimed
        self.ptt = PushToTalk()
        self.sides = OutOfBandReplies()
        self.supervisor = UpstreamSupervisor[Live](
            link(self),
            up.options.policy(config.input_sample_rate),
            name="Gemini",
            session=config.session_id,
        )
        self.start("gemini-live-session")

    # -- ProviderSession --------------------------------------------------------------------

    async def on_command(self, command: n.Command) -> None:
        match command:
            case n.AppendAudio(pcm=pcm):
                await self._append(pcm)
            case n.Configure(config=config, changed=changed):
                self._configure(config, changed)
            case n.CommitAudio(item_id=item_id):
                await self._commit(item_id)
            case n.ClearAudio():
                self.ptt.clear()
                self.audio.clear()
            case n.AddItem(item=n.FunctionCallOutput() as result):
                # Sent with the next response.create: to the connection that issued the
                # call, or as history to any other.
                self.mirror.apply(command)
                self.held_results.append(result)
            case n.DeleteItem(item_id=item_id):
                self._forget(item_id, changed=True)
                self.mirror.apply(command)
            case n.TruncateItem(item_id=item_id, text=text):
                item = self.mirror.get(item_id)
                cut = isinstance(item, n.Message) and (item.text or "") != text
                self._forget(item_id, changed=cut)
                self.mirror.apply(command)
            case n.AddItem() | n.UpdateItem():
                self.mirror.apply(command)
            case n.CreateResponse(conversation=False):
                self._side(command)
            case n.CreateResponse():
                await self._create(command)
            case n.CancelResponse(response_id=response_id):
                await self._cancel(response_id)

    async def after_close(self) -> None:
        await self.sides.cancel_all()

    def closing_events(self) -> Iterator[n.Event]:
        for event in self.inbound.close():
            yield from self.hold.feed(event)

    async def emit(self, events: Iterable[n.Event]) -> None:
        await super().emit(events)
        for response in self.inbound.responses.take_activated():
            await self._send_reply(response)

    async def on_message(self, live: Live, message: Any) -> None:
        """One message of the live connection."""
        if (left := self.resumption.note(message)) is not None:
            log.info(
                "Gemini ends connection %d of session %s in %.0f s: replacing it",
                live.number,
                self.config.session_id or "?",
                left,
            )
            # A new connection at the next turn boundary; mid-turn, replaying what it has
            # not answered, once the end is close.
            self.supervisor.going_away(live, left)
        audio = self.audio
        events = self.inbound.feed(
            message, onset_ms=audio.onset_ms, audio_ms=int(audio.position_ms)
        )
        if self.inbound.turn.heard:
            self.inbound.turn.heard = False
            audio.acknowledge()
        for event in events:
            if isinstance(event, n.ToolCall):
                live.tool_ids.add(event.call_id)
        if message.tool_call_cancellation is not None:
            live.tool_ids.difference_update(message.tool_call_cancellation.ids or ())
        await self.emit(events)

    # -- commands ---------------------------------------------------------------------------

    def _configure(self, config: n.SessionConfig, changed: frozenset[str]) -> None:
        if "voice" in changed:
            self.voice = resolve_voice(config.voice)
        self.config = config
        self.inbound.modalities = config.output_modalities
        self.inbound.turn.manual = config.turn_detection is None
        self.hold.follow(config)
        if "input_sample_rate" in changed:
            self.audio = InputAudio(config.input_sample_rate)
        if changed & RESTART_FIELDS:
            # A new setup: from the next turn on (what is sent meanwhile waits for it).
            self.supervisor.restart()

    def _forget(self, item_id: str, *, changed: bool) -> None:
        if self.resumption.forgets(self.mirror, item_id, changed=changed):
            self.supervisor.restart()

    async def _append(self, pcm: bytes) -> None:
        if self.audio.observe(pcm):
            await self.emit(self.inbound.speech_measured(self.audio.onset_ms))
        elif self.inbound.turn.awaiting_confirmation:
            td, audio = self.config.turn_detection, self.audio
            silence = td.silence_duration_ms if td is not None and td.silence_duration_ms else 0
            await self.emit(
                self.inbound.turn.drop_if_noise(
                    audio.quiet_for_ms(), int(audio.position_ms), silence_ms=silence
                )
            )
        if self.config.turn_detection is None:
            self.ptt.add(pcm)
            return
        rate = self.config.input_sample_rate

        def build(live: Live) -> list[bytes]:
            return audio_messages(pcm, rate)

        await self.supervisor.send(build, audio=len(pcm), client=len(pcm))

    def unsent_audio_bytes(self) -> int:
        return self.ptt.held_bytes + self.supervisor.held_client_audio

    async def _commit(self, item_id: str) -> None:
        self.hold.drop()  # a new turn: an answer held for the last one is moot
        # The next turn, not one open now: push-to-talk audio reaches Gemini only at the
        # commit, and a turn its own detection opened is announced under its own item.
        self.inbound.turn.committed_item = item_id
        self.commit_pending = True
        if self.config.turn_detection is not None:
            return  # Gemini's own turn detection ends the turn
        pcm, rate = self.ptt.take(), self.config.input_sample_rate

        def build(live: Live) -> list[bytes]:
            return turn_messages(pcm, rate)

        await self.supervisor.send(build, audio=len(pcm), client=len(pcm))

    async def _create(self, create: n.CreateResponse) -> None:
        texts = [i for i in self.mirror.unsent() if not isinstance(i, n.FunctionCallOutput)]
        grew = bool(self.held_results or texts)
        if (answer := self.hold.answer_for(create.response_id, conversation_grew=grew)) is not None:
            # Gemini already answered the turn this asks about: that is the reply.
            self.commit_pending = False
            await self.emit(answer)
            return
        if self.inbound.responses.request(create, self.config.output_modalities):
            active = self.inbound.responses.ledger.active
            assert active is not None
            await self._send_reply(active)

    async def _send_reply(self, response: Any) -> None:
        """What asks Gemini for a requested response: the tool results it waits for, the
        client's new items as a turn, or, after a push-to-talk commit, nothing (Gemini
        answers the committed turn itself)."""
        results, self.held_results = self.held_results, []
        items = [i for i in self.mirror.unsent() if not isinstance(i, n.FunctionCallOutput)]
        if self.commit_pending and not items and not results:
            self.commit_pending = False
            return
        self.commit_pending = False
        sent = [i.id for i in items] + [r.id for r in results]
        for result in results:
            self.inbound.open_calls.pop(result.call_id, None)
        ask = ReplyRequest(
            items=items,
            results=results,
            instructions=response.options.instructions,
            scheduling="WHEN_IDLE" if self.up.profile.tool_behavior == "NON_BLOCKING" else None,
        )

        def build(live: Live) -> list[bytes]:
            # Sent once a connection takes them: one that opens before then leaves them
            # out of the history it is seeded with.
            self.mirror.mark_sent(sent)
            return ask.messages(self.mirror.items, live.tool_ids)

        await self.supervisor.send(build)

    async def _cancel(self, response_id: str) -> None:
        if await self.sides.cancel(response_id):
            return
        events, generating = self.inbound.responses.cancel(self.hold.model_id(response_id))
        await self.emit(events)
        if generating:
            # Gemini has no cancel: the connection goes, and the next one starts from the
            # conversation (the reply as far as the client took it).
            self.resumption.reseed()
            self.supervisor.restart()

    def _side(self, create: n.CreateResponse) -> None:
        """An out-of-band reply: on a connection of its own, seeded with the conversation,
        so that it never enters the live session's context."""
        self.sides.start(side_reply(self, create, on_done=self.sides.discard))
