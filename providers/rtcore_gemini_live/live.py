"""One Gemini Live connection as the session holds it, and audio cut into the messages it
is sent in."""

from __future__ import annotations

from typing import Any

from rtcore_gemini_live.outgoing import Audio, encode

# Audio sent to Gemini in messages of at most this much (a replay, a push-to-talk turn).
AUDIO_MESSAGE_MS = 100


class Live:
    """One Gemini connection: the SDK's session and what belongs to it alone."""

    def __init__(self, session: Any, context: Any, number: int) -> None:
        self.session = session
        self.context = context
        self.number = number
        # Tool calls this connection issued: a result for another goes in as history.
        self.tool_ids: set[str] = set()
        self.closing = False


def audio_messages(pcm: bytes, rate: int) -> list[bytes]:
    size = max(2, rate * 2 * AUDIO_MESSAGE_MS // 1000)
    return [encode(Audio(pcm[i : i + size], rate)) for i in range(0, len(pcm), size)]
