"""A local, protocol-faithful emulator of Google's Gemini Live API (``BidiGenerateContent``,
the Gemini API and Vertex AI), for the real google-genai SDK.

Importable without the rtcore core and without any provider. Names load on first use, so
``rtcore --help`` (which registers the ``gemini-emulator`` command) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rtcore_emulator_kit.lazy import lazy_exports

if TYPE_CHECKING:
    from rtcore_emulated_speech.script import Script
    from rtcore_emulated_speech.tones import silence_pcm, utterance_pcm

    from .server import GeminiLiveEmulator

__getattr__ = lazy_exports(
    __name__,
    {
        "GeminiLiveEmulator": ".server",
        "Script": "rtcore_emulated_speech.script",
        "silence_pcm": "rtcore_emulated_speech.tones",
        "utterance_pcm": "rtcore_emulated_speech.tones",
    },
)

__all__ = ["GeminiLiveEmulator", "Script", "silence_pcm", "utterance_pcm"]
