"""A session whose audio travels out of band (WebRTC): the transport plays the reply and
records the microphone; the session exchanges PCM with it instead of audio events.

The transport's ``MediaSink`` says the rate it plays and records at (WebRTC's Opus: 48
kHz), takes the reply as PCM16 mono at that rate and paces it out; ``clear`` drops what has
not played (barge-in, ``output_audio_buffer.clear``) and says whose audio that was and how
much of it played: the session truncates the item there, as OpenAI's server does on WebRTC
(the model then knows what the user heard). The transport reports the end of each reply's
playback to the connection (``output_audio_buffer.stopped``).
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from rtcore.audio import AudioFormat


class Playback(msgspec.Struct, frozen=True, kw_only=True):
    """A reply cut short: whose, which item, and how much of it had played."""

    response_id: str
    item_id: str
    played_ms: int


class MediaSink(Protocol):
    # PCM16 mono at this rate, both ways: the reply played, the microphone recorded.
    rate: int

    def play(self, response_id: str, item_id: str, pcm: bytes) -> None: ...

    def finish(self, response_id: str) -> None:
        """All of the response's audio has been handed over: once it has played out,
        playback of it stopped."""

    def clear(self) -> Playback | None: ...


def media_format(sink: MediaSink) -> AudioFormat:
    """The format audio crosses the transport in, both ways."""
    return AudioFormat("pcm16", sink.rate)
