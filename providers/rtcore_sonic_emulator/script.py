"""Scripting, now the emulators' shared one (``rtcore_emulated_speech.script``): one ``Script``
drives the Nova Sonic and the Gemini Live emulators alike."""

from rtcore_emulated_speech.script import (
    DEFAULT_UTTERANCES,
    UNRECOGNISED,
    Script,
    default_reply,
    tool_reply,
)

__all__ = ["DEFAULT_UTTERANCES", "UNRECOGNISED", "Script", "default_reply", "tool_reply"]
