"""A reply spoken: the voice's pitch, the audio paced in chunks, each transcription fragment
with the chunk its word starts in, cut short by barge-in."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from rtcore_emulated_speech import voice
from rtcore_emulator_kit.faults import FirstOutput

from . import output
from .output import Outbox
from .probe import AudioProbe
from .setup import VOICES

CHUNK_SECONDS = 0.08
_FRAGMENT = re.compile(r"\S+\s*")


def pitch_for(voice_name: str) -> float:
    """Each prebuilt voice its own pitch, 110..200 Hz, so voices sound different."""
    index = VOICES.index(voice_name) if voice_name in VOICES else 5
    return 110.0 + 10.0 * (index % 10)


def fragments(text: str) -> list[str]:
    """The pieces a reply goes out in: each word with the space after it."""
    return _FRAGMENT.findall(text)


@dataclass(slots=True)
class Spoken:
    text: str  # what was said (all of it, or up to the interruption)
    seconds: float = 0.0
    interrupted: bool = False


async def speak(
    reply: str,
    *,
    voice_name: str,
    transcribe: bool,
    out: Outbox,
    first: FirstOutput,
    realtime_factor: Callable[[], float],
    interrupt: asyncio.Event,
    probe: AudioProbe | None,
    stream: int,
) -> Spoken:
    """Speak ``reply`` at ``realtime_factor`` times real time (0: at once) until it is said
    or ``interrupt`` is set; ``stream`` names the connection to the probe."""
    pcm = voice.synthesize(reply, pitch_for(voice_name), output.OUTPUT_RATE)
    step = 2 * round(CHUNK_SECONDS * output.OUTPUT_RATE)
    # Each transcription fragment goes out with the audio chunk its word starts in.
    pieces = fragments(reply)
    starts: list[float] = []
    offset = 0.0
    for fragment in pieces:
        starts.append(offset)
        offset += voice.speech_seconds(fragment)
    said: list[str] = []
    started = time.monotonic()
    sent = 0
    for index, position in enumerate(range(0, len(pcm), step)):
        factor = realtime_factor()
        if factor > 0:
            delay = started + index * CHUNK_SECONDS * factor - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(interrupt.wait(), delay)
        if interrupt.is_set():
            break
        chunk_end = (position + step) / 2 / output.OUTPUT_RATE
        while len(said) < len(pieces) and starts[len(said)] < chunk_end:
            fragment = pieces[len(said)]
            said.append(fragment)
            if transcribe:
                await out.send(output.server_content(outputTranscription={"text": fragment}))
        chunk = pcm[position : position + step]
        await out.send(output.model_turn(output.audio_part(chunk)))
        if probe is not None and not out.silent:
            probe.audio_out(stream, len(chunk), time.monotonic_ns())
        sent += len(chunk)
        await first.done()
    interrupted = interrupt.is_set()
    text = "".join(said) if interrupted else reply
    return Spoken(text, sent / 2 / output.OUTPUT_RATE, interrupted)
