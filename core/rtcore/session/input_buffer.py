"""The session machine's input audio buffer: audio appended (and its length kept), the
buffer committed as a user item or cleared, and the idle timeout that runs on the input
audio's timeline (see session/idle.py). Mixed into ``RealtimeSession``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rtcore.audio import AudioFormat, InputConverter
from rtcore.ids import new_id
from rtcore.protocol import server as s
from rtcore.protocol.errors import RealtimeError
from rtcore.provider import messages as n
from rtcore.session.conversation import Conversation, ConvItem, Part
from rtcore.session.idle import IdleTimeout
from rtcore.session.responses import ActiveResponse
from rtcore.session.settings import SessionState
from rtcore.session.transcripts import InputTranscripts

MIN_COMMIT_MS = 100

Commands = list[n.Command]


class InputBuffer:
    """Mixed into ``RealtimeSession``: the attributes below are the session's."""

    settings: SessionState
    conversation: Conversation
    _input: InputConverter | None
    _buffered_ms: float
    _audio_ms: float  # all input audio so far: the timeline idle_timeout_ms runs on
    _idle: IdleTimeout
    _transcripts: InputTranscripts

    if TYPE_CHECKING:

        @property
        def response(self) -> ActiveResponse | None: ...

        def emit(self, event: s.ServerEvent) -> None: ...

        def _announce_item(self, item: ConvItem, previous: str | None) -> None: ...

        def _open_response(
            self,
            response_id: str,
            modalities: tuple[str, ...],
            metadata: dict[str, str] | None,
            *,
            out_of_band: bool = False,
            options: n.ResponseOptions = ...,
        ) -> ActiveResponse: ...

    def _append(self, audio: bytes) -> Commands:
        assert self._input is not None
        return self._take_audio(audio, self.settings.input_format, self._input)

    def _take_audio(self, audio: bytes, fmt: AudioFormat, converter: InputConverter) -> Commands:
        bytes_per_ms = fmt.sample_rate / 1000 * fmt.bytes_per_sample
        ms = len(audio) / bytes_per_ms
        self._buffered_ms += ms
        self._audio_ms += ms
        pcm = converter.feed(audio)
        commands: Commands = [n.AppendAudio(pcm=pcm)] if pcm else []
        return commands + self._idle_timeout()

    def _idle_timeout(self) -> Commands:
        """The user has been silent ``idle_timeout_ms`` since the last reply played out:
        say so, commit the silence as a user item, and answer it (see session/idle.py)."""
        td = self.settings.turn_detection
        if td is None or self.response is not None:
            return []
        silent = self._idle.due(self._audio_ms, td.idle_timeout_ms)
        if silent is None:
            return []
        item_id = new_id("item_")
        self.emit(
            s.InputAudioBufferTimeoutTriggered(
                event_id="", audio_start_ms=silent[0], audio_end_ms=silent[1], item_id=item_id
            )
        )
        commands = self._commit_user_audio(item_id)
        self._transcripts.drop(item_id)  # silence: no transcript will come
        response = self._open_response(new_id("resp_"), self.settings.output_modalities, None)
        return [*commands, n.CreateResponse(response_id=response.id)]

    def _commit(self) -> Commands:
        if self._buffered_ms < MIN_COMMIT_MS:
            raise RealtimeError(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has "
                f"{self._buffered_ms:.2f}ms of audio.",
            )
        item_id = new_id("item_")
        return [n.CommitAudio(item_id=item_id), *self._commit_user_audio(item_id)]

    def _commit_user_audio(self, item_id: str, seconds: float | None = None) -> Commands:
        """The user's audio so far is the user item ``item_id``: announce it to the client
        and the provider. ``seconds``: how long the turn is, when known better than by the
        audio buffered since the last commit (a spoken turn's detected bounds)."""
        item = ConvItem(id=item_id, type="message", role="user", parts=[Part(kind="audio")])
        previous = self.conversation.append(item)
        self.emit(
            s.InputAudioBufferCommitted(event_id="", previous_item_id=previous, item_id=item_id)
        )
        self._announce_item(item, previous)
        self._transcripts.open(item_id, self._buffered_ms / 1000 if seconds is None else seconds)
        self._buffered_ms = 0.0
        after = self.conversation.model_previous(previous)
        return [n.AddItem(item=item.to_neutral(), previous_item_id=after, source="audio")]

    def _clear(self) -> Commands:
        assert self._input is not None
        self._input.reset()
        self._buffered_ms = 0.0
        self.emit(s.InputAudioBufferCleared(event_id=""))
        return [n.ClearAudio()]
