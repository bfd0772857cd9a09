"""The tool-matching rule, now the emulators' shared one (``rtcore_emulated_speech.tooluse``)."""

from rtcore_emulated_speech.tooluse import arguments, match_tool

__all__ = ["arguments", "match_tool"]
