"""Nova Sonic's voices on the emulators' shared synthetic voice (``rtcore_emulated_speech``)."""

from __future__ import annotations

from rtcore_emulated_speech import voice as _shared
from rtcore_emulated_speech.voice import (
    MIN_WORD_SECONDS,
    SECONDS_PER_CHAR,
    WORD_GAP_SECONDS,
    speech_seconds,
)

__all__ = [
    "MIN_WORD_SECONDS",
    "SECONDS_PER_CHAR",
    "WORD_GAP_SECONDS",
    "pitch_for",
    "speech_seconds",
    "synthesize",
]

# Rough speaking pitch per voice, so voices sound different; unknown voices get a middle pitch.
_PITCH_HZ = {
    "matthew": 115.0,
    "florian": 120.0,
    "lorenzo": 118.0,
    "lennart": 112.0,
    "carlos": 122.0,
    "arjun": 125.0,
    "leo": 120.0,
}


def pitch_for(voice: str) -> float:
    return _PITCH_HZ.get(voice, _shared.MIDDLE_PITCH_HZ)


def synthesize(text: str, voice: str, sample_rate: int) -> bytes:
    """16-bit mono little-endian PCM of ``text`` spoken by ``voice``."""
    return _shared.synthesize(text, pitch_for(voice), sample_rate)
