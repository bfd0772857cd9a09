"""The emulators' shared notion of speech: what a test's audio says and how the model sounds.

Both local emulators (Nova Sonic, Gemini Live) hear the same audio as the same turns, so one
client test drives either: the tone code (a sine at ``400 + 100·N`` Hz is utterance N), the
default transcripts, the energy detector that cuts turns, the synthetic voice, the script of
replies and the documented rule that picks a tool from what was said. Imports nothing of
rtcore.
"""

from .script import DEFAULT_UTTERANCES, UNRECOGNISED, Script, default_reply, tool_reply
from .tones import (
    SLOTS,
    detect_slot,
    pcm_to_wav,
    silence_pcm,
    tone_frequency,
    utterance_pcm,
    utterance_wav,
)
from .tooluse import arguments, match_tool
from .vad import EnergyVad, VadResult
from .voice import speech_seconds, synthesize

__all__ = [
    "DEFAULT_UTTERANCES",
    "SLOTS",
    "UNRECOGNISED",
    "EnergyVad",
    "Script",
    "VadResult",
    "arguments",
    "default_reply",
    "detect_slot",
    "match_tool",
    "pcm_to_wav",
    "silence_pcm",
    "speech_seconds",
    "synthesize",
    "tone_frequency",
    "tool_reply",
    "utterance_pcm",
    "utterance_wav",
]
