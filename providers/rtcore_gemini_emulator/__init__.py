"""A local, protocol-faithful emulator of Google's Gemini Live API (``BidiGenerateContent``,
the Gemini API and Vertex AI), for the real google-genai SDK.

Importable without the rtcore core and without any provider. Names load on first use, so
``rtcore --help`` (which registers the ``gemini-emulator`` command) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rtcore_emulated_speech.script import Script
    from rtcore_emulated_speech.tones import silence_pcm, utterance_pcm

    from .server import GeminiLiveEmulator

_EXPORTS = {
    "GeminiLiveEmulator": ".server",
    "Script": "rtcore_emulated_speech.script",
    "silence_pcm": "rtcore_emulated_speech.tones",
    "utterance_pcm": "rtcore_emulated_speech.tones",
}

__all__ = ["GeminiLiveEmulator", "Script", "silence_pcm", "utterance_pcm"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
