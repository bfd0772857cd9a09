"""A reply spoken: the voice's pitch, and the reply paced out (``PacedSpeech``) as Gemini's
messages, each transcription fragment with the chunk its word starts in, cut short by
barge-in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from rtcore_emulated_speech import voice
from rtcore_emulated_speech.paced import PacedSpeech
from rtcore_emulator_kit.faults import FirstOutput

from . import output
from .output import Outbox
from .probe import AudioProbe
from .setup import VOICES

CHUNK_SECONDS = 0.08


def pitch_for(voice_name: str) -> float:
    """Each prebuilt voice its own pitch, 110..200 Hz, so voices sound different."""
    index = VOICES.index(voice_name) if voice_name in VOICES else 5
    return 110.0 + 10.0 * (index % 10)


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
    speech = PacedSpeech(reply, pcm, output.OUTPUT_RATE, CHUNK_SECONDS)
    async for starting, chunk in speech.chunks(realtime_factor, interrupt):
        if transcribe:
            for fragment in starting:
                await out.send(output.server_content(outputTranscription={"text": fragment}))
        await out.send(output.model_turn(output.audio_part(chunk)))
        if probe is not None and not out.silent:
            probe.audio_out(stream, len(chunk), time.monotonic_ns())
        await first.done()
    interrupted = interrupt.is_set()
    text = "".join(speech.said) if interrupted else reply
    return Spoken(text, speech.seconds, interrupted)
