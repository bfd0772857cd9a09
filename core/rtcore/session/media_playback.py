"""The session machine's part for out-of-band media (WebRTC): microphone PCM taken as
``input_audio_buffer.append`` would take it, and the reply's playback stopped or cleared
(the item truncated where playback stopped, as OpenAI's server does on WebRTC). Mixed into
``RealtimeSession``; a session without a ``MediaSink`` never calls into it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rtcore.audio import AudioFormat, InputConverter
from rtcore.protocol import client as c
from rtcore.protocol import server as s
from rtcore.protocol.errors import RealtimeError
from rtcore.provider import Capabilities
from rtcore.provider import messages as n
from rtcore.session.conversation import Conversation
from rtcore.session.media import MediaSink, media_format


class MediaPlayback:
    """Mixed into ``RealtimeSession``: the attributes below are the session's."""

    _media: MediaSink | None
    _media_in: InputConverter | None
    conversation: Conversation
    caps: Capabilities

    if TYPE_CHECKING:

        def emit(self, event: s.ServerEvent) -> None: ...

        def _take_audio(
            self, audio: bytes, fmt: AudioFormat, converter: InputConverter
        ) -> list[n.Command]: ...

        def _truncate(self, event: c.ConversationItemTruncate) -> list[n.Command]: ...

    def append_media(self, pcm: bytes) -> list[n.Command]:
        """Microphone audio of an out-of-band session (PCM16 mono at the sink's rate),
        taken as ``input_audio_buffer.append`` would take it."""
        assert self._media is not None, "not a media session"
        assert self._media_in is not None
        return self._take_audio(pcm, media_format(self._media), self._media_in)

    def playback_stopped(self, response_id: str) -> None:
        """The transport played the last of a reply."""
        self.emit(s.OutputAudioBufferStopped(event_id="", response_id=response_id))

    def _clear_playback(self) -> list[n.Command] | None:
        """Drop the reply audio not yet played and truncate its item to what played; None
        when nothing was playing (or the session has no media)."""
        if self._media is None:
            return None
        dropped = self._media.clear()
        if dropped is None:
            return None
        self.emit(s.OutputAudioBufferCleared(event_id="", response_id=dropped.response_id))
        item = self.conversation.get(dropped.item_id)
        index = (
            next((i for i, p in enumerate(item.parts) if p.kind == "audio"), None) if item else None
        )
        if item is None or index is None or not self.caps.truncate:
            return []  # (a model that cannot truncate keeps the item whole)
        cut = c.ConversationItemTruncate(
            item_id=item.id, content_index=index, audio_end_ms=min(dropped.played_ms, item.audio_ms)
        )
        try:
            return self._truncate(cut)
        except RealtimeError:
            return []  # nothing left to cut: the item ended where playback did
