"""User turns waiting for their transcript: the text so far and how long the turn's audio
is (what ``input_audio_transcription.completed`` reports as ``usage.seconds``)."""

from __future__ import annotations

from rtcore.protocol import server as s
from rtcore.protocol.objects import ErrorOut, TranscriptionUsageOut
from rtcore.provider.messages import TranscriptError


class PendingTranscript:
    __slots__ = ("seconds", "text")

    def __init__(self, seconds: float) -> None:
        self.text = ""
        self.seconds = seconds


class InputTranscripts:
    """Spoken or committed user items whose transcript is not final yet, and where the
    provider's voice detection said the current spoken turn began (its audio runs from
    there; one turn is spoken at a time)."""

    def __init__(self) -> None:
        self._pending: dict[str, PendingTranscript] = {}
        self._speaking: tuple[str, int] | None = None

    def __contains__(self, item_id: str) -> bool:
        return item_id in self._pending

    def speech_started(self, item_id: str, audio_start_ms: int) -> None:
        self._speaking = (item_id, audio_start_ms)

    def spoken_seconds(self, item_id: str, audio_end_ms: int) -> float | None:
        """The length of a spoken turn from its detected bounds, if its start was seen."""
        if self._speaking is None or self._speaking[0] != item_id:
            return None
        start = self._speaking[1]
        self._speaking = None
        return max(0, audio_end_ms - start) / 1000

    def open(self, item_id: str, seconds: float) -> None:
        self._pending[item_id] = PendingTranscript(seconds)

    def add(self, item_id: str, text: str) -> None:
        self._pending[item_id].text += text

    def text_so_far(self, item_id: str) -> str:
        pending = self._pending.get(item_id)
        return pending.text if pending is not None else ""

    def close(self, item_id: str) -> PendingTranscript:
        return self._pending.pop(item_id)

    def drop(self, item_id: str) -> None:
        self._pending.pop(item_id, None)
        if self._speaking is not None and self._speaking[0] == item_id:
            self._speaking = None


def transcript_outcome(
    item_id: str, done: PendingTranscript, error: TranscriptError | None
) -> s.TranscriptionCompleted | s.TranscriptionFailed:
    """What a client that asked for transcription hears when a turn's transcript closes:
    the transcript and the turn's length, or why there is none."""
    if error is not None:
        failure = ErrorOut(type="transcription_error", code=error.code, message=error.message)
        return s.TranscriptionFailed(event_id="", item_id=item_id, error=failure)
    usage = TranscriptionUsageOut(seconds=round(done.seconds, 3))
    return s.TranscriptionCompleted(event_id="", item_id=item_id, transcript=done.text, usage=usage)
