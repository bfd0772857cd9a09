"""A local, protocol-faithful emulator of the OpenAI Realtime API as OpenAI, Azure OpenAI and
xAI serve it, for the real openai SDK.

Importable without the rtcore core and without any provider. Names load on first use, so
``rtcore --help`` (which registers the ``openai-emulator`` command) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rtcore_emulated_speech.script import Script
    from rtcore_emulated_speech.tones import silence_pcm, utterance_pcm

    from .server import OpenAIRealtimeEmulator

_EXPORTS = {
    "OpenAIRealtimeEmulator": ".server",
    "Script": "rtcore_emulated_speech.script",
    "silence_pcm": "rtcore_emulated_speech.tones",
    "utterance_pcm": "rtcore_emulated_speech.tones",
}

__all__ = ["OpenAIRealtimeEmulator", "Script", "silence_pcm", "utterance_pcm"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
