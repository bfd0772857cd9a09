"""``turn_detection.idle_timeout_ms``: when the user says nothing for that long after a
reply, the server says so (``input_audio_buffer.timeout_triggered``), commits the silence
as a user item and answers it, so the model can prompt the user.

Measured on the input audio's timeline (the audio the client has appended), from when the
last reply's audio would have finished playing: a reply generated faster than real time
is still being heard until then. Any provider gets it; it needs nothing of the model but
an answer to an empty turn.
"""

from __future__ import annotations


class IdleTimeout:
    def __init__(self) -> None:
        self.armed_at_ms: float | None = None

    def arm(self, now_ms: float, reply_started_ms: float, reply_audio_ms: float) -> None:
        """A reply ended: the wait begins when its audio has played out."""
        self.armed_at_ms = max(now_ms, reply_started_ms + reply_audio_ms)

    def disarm(self) -> None:
        self.armed_at_ms = None

    def due(self, now_ms: float, timeout_ms: int | None) -> tuple[int, int] | None:
        """The silent stretch ``(start, end)`` once the timeout has passed (the timer is
        then spent until the next reply arms it)."""
        if timeout_ms is None or self.armed_at_ms is None:
            return None
        if now_ms - self.armed_at_ms < timeout_ms:
            return None
        start, self.armed_at_ms = self.armed_at_ms, None
        return int(start), int(now_ms)
