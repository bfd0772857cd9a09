"""A session whose audio travels out of band (WebRTC): the transport plays the reply and
records the microphone; the session exchanges PCM with it instead of audio events.

The transport's ``MediaSink`` takes the reply as PCM16 mono at ``MEDIA_FORMAT``'s rate and
paces it out; ``clear`` drops what has not played (barge-in, ``output_audio_buffer.clear``)
and says whose audio that was. The transport reports the end of each reply's playback to
the connection (``output_audio_buffer.stopped``).
"""

from __future__ import annotations

from typing import Protocol

from rtcore.audio import AudioFormat

# WebRTC's Opus decodes to, and encodes from, 48 kHz.
MEDIA_FORMAT = AudioFormat("pcm16", 48000)


class MediaSink(Protocol):
    def play(self, response_id: str, pcm: bytes) -> None: ...

    def clear(self) -> str | None: ...
