"""Push-to-talk on Gemini: with its automatic activity detection off, a user turn is the
audio between ``activityStart`` and ``activityEnd``. A turn's audio is kept until the
client commits it and goes as one marked turn then, so a clear can still drop it (audio
already streamed could not be); replayed audio is marked the same way, or Gemini would not
hear it as a turn.
"""

from __future__ import annotations

from rtcore_gemini_live.live import audio_messages
from rtcore_gemini_live.outgoing import Activity, encode


class PushToTalk:
    def __init__(self) -> None:
        self._pcm: list[bytes] = []

    def add(self, pcm: bytes) -> None:
        self._pcm.append(pcm)

    def clear(self) -> None:
        self._pcm.clear()

    def take(self) -> bytes:
        pcm, self._pcm = b"".join(self._pcm), []
        return pcm

    @property
    def held_bytes(self) -> int:
        return sum(len(p) for p in self._pcm)


def marked_turn(audio: list[bytes]) -> list[bytes]:
    """Encoded audio messages as one push-to-talk turn (none: nothing to mark)."""
    if not audio:
        return []
    return [encode(Activity(True)), *audio, encode(Activity(False))]


def turn_messages(pcm: bytes, rate: int) -> list[bytes]:
    return marked_turn(audio_messages(pcm, rate))
