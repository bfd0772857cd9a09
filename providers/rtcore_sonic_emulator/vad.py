"""The energy VAD, now the emulators' shared one (``rtcore_emulated_speech.vad``)."""

from rtcore_emulated_speech.vad import (
    FRAME_SECONDS,
    MIN_TURN_SECONDS,
    ONSET_SECONDS,
    SPEECH_RMS,
    EnergyVad,
    VadResult,
)

__all__ = [
    "FRAME_SECONDS",
    "MIN_TURN_SECONDS",
    "ONSET_SECONDS",
    "SPEECH_RMS",
    "EnergyVad",
    "VadResult",
]
