"""The tone code, now the emulators' shared one (``rtcore_emulated_speech.tones``)."""

from rtcore_emulated_speech.tones import (
    BASE_HZ,
    SLOTS,
    STEP_HZ,
    detect_slot,
    pcm_to_wav,
    silence_pcm,
    tone_frequency,
    utterance_pcm,
    utterance_wav,
)

__all__ = [
    "BASE_HZ",
    "SLOTS",
    "STEP_HZ",
    "detect_slot",
    "pcm_to_wav",
    "silence_pcm",
    "tone_frequency",
    "utterance_pcm",
    "utterance_wav",
]
