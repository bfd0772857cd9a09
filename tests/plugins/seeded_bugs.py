"""Echo providers each seeded with one bug a real provider had, for showing that the
contract test written for it fails (test_contract_catches_bugs.py). Each models the bug
as it showed upstream, on the echo model's terms."""

from __future__ import annotations

import msgspec

from rtcore.kit import LedgerResponse
from rtcore.provider import ModelConfig, ProviderSession, ProviderUnavailable
from rtcore.provider import messages as n
from rtcore.provider.messages import SessionConfig
from rtcore_echo import EchoProvider
from rtcore_echo.session import EchoSession


class TranscribesOnlyWhenAsked(EchoSession):
    """Push-to-talk: the commit's transcript waits for the response.create."""

    async def _handle(self, command: n.Command) -> None:
        if isinstance(command, n.CommitAudio):
            self._committed = (command.item_id, self._listener.take())
            return
        if isinstance(command, n.CreateResponse) and getattr(self, "_committed", None):
            item_id, spoken_ms = self._committed
            self._committed = None
            await self._user_turn(item_id, spoken_ms)
        await super()._handle(command)


class ToolResultToTheWrongConnection(EchoSession):
    """A tool result goes to the live connection, which never issued its call id and
    ignores it."""

    issued: set[str]
    stale: set[str]

    async def _step(self, loop: object) -> None:
        streaming = self._streaming
        if streaming is not None and streaming.pending:
            event = streaming.pending[0]
            if isinstance(event, n.ToolCall):
                self.issued = getattr(self, "issued", set()) | {event.call_id}
        await super()._step(loop)  # type: ignore[arg-type]

    async def _reconnected(self) -> None:
        await super()._reconnected()
        self.stale = getattr(self, "issued", set())
        self.issued = set()

    async def _handle(self, command: n.Command) -> None:
        match command:
            case n.AddItem(item=n.FunctionCallOutput(call_id=call_id)) if call_id in getattr(
                self, "stale", set()
            ):
                return
        await super()._handle(command)


class NoAudioTokens(EchoSession):
    """Usage without the input audio (always 0)."""

    def _stream(self, response: LedgerResponse, *, text: str | None = None) -> None:
        super()._stream(response, text=text)
        assert self._streaming is not None
        usage = self._streaming.input_usage
        self._streaming.input_usage = msgspec.structs.replace(usage, input_audio_tokens=0)


class LosesAudioWhileReconnecting(EchoSession):
    """Audio sent while the upstream reconnects never reaches the new connection."""

    _deaf_bytes = 0

    async def _reconnected(self) -> None:
        await super()._reconnected()
        self._deaf_bytes = int(self.config.input_sample_rate * 2 * 0.4)

    async def _handle(self, command: n.Command) -> None:
        if isinstance(command, n.AppendAudio) and self._deaf_bytes > 0:
            self._deaf_bytes -= len(command.pcm)
            return
        await super()._handle(command)


class AsideLeftInContext(EchoSession):
    """An out-of-band response is asked on the live connection: its instructions stay in
    the model's context for the replies after it."""

    _left: str | None = None

    async def _handle(self, command: n.Command) -> None:
        if isinstance(command, n.CreateResponse):
            if not command.conversation and command.options.instructions:
                self._left = command.options.instructions
            elif self._left and command.options.instructions is None:
                options = msgspec.structs.replace(command.options, instructions=self._left)
                command = msgspec.structs.replace(command, options=options)
        await super()._handle(command)


class CancelledReplyGoesOn(EchoSession):
    """A cancel ends the response for the client while the model keeps generating it:
    the next reply waits for the rest of it."""

    _ghost = False

    async def _handle(self, command: n.Command) -> None:
        streaming = self._streaming
        match command:
            case n.CancelResponse(response_id=rid) if (
                streaming is not None and streaming.response.id == rid
            ):
                if done := self._ledger.finish(rid, "cancelled", "client_cancelled"):
                    await self._outbox.put(done)
                self._ghost = True
                return
            case n.CreateResponse() if self._ghost:
                self._ledger.request(command, self.config.output_modalities)
                return
        await super()._handle(command)

    async def _step(self, loop: object) -> None:
        streaming = self._streaming
        if not self._ghost or streaming is None:
            await super()._step(loop)  # type: ignore[arg-type]
            return
        if streaming.pending:
            streaming.pending.popleft()  # generated, and thrown away
            streaming.due = loop.time() + self.params.chunk_delay_ms / 1000  # type: ignore[attr-defined]
            return
        self._ghost, self._streaming = False, None
        if (active := self._ledger.active) is not None:
            self._stream(active)


class SpokenOverTurnUnanswered(EchoSession):
    """``interrupt_response: false``: the turn spoken over a reply is never answered."""

    async def _heard(self, event: n.SpeechStarted | n.SpeechStopped) -> None:
        await super()._heard(event)
        self._turn_owed = False


class HangsWhenUnreachable(EchoProvider):
    """An unreachable upstream: the session opens and then never says a word."""

    async def open_session(self, config: SessionConfig) -> ProviderSession:
        try:
            return await super().open_session(config)
        except ProviderUnavailable:
            return _Silent(config, self.params)


class _Silent(EchoSession):
    async def _handle(self, command: n.Command) -> None:
        return


BUGS: dict[str, type[EchoSession]] = {
    cls.__name__: cls
    for cls in (
        TranscribesOnlyWhenAsked,
        ToolResultToTheWrongConnection,
        NoAudioTokens,
        LosesAudioWhileReconnecting,
        AsideLeftInContext,
        CancelledReplyGoesOn,
        SpokenOverTurnUnanswered,
    )
}


class SeededProvider(EchoProvider):
    """The echo provider whose sessions are ``session_class``."""

    def __init__(self, model: ModelConfig, session_class: type[EchoSession]) -> None:
        super().__init__(model)
        self._session_class = session_class

    async def open_session(self, config: SessionConfig) -> ProviderSession:
        session = self._session_class(config, self.params, on_close=self._sessions.discard)
        self._sessions.add(session)
        return session
