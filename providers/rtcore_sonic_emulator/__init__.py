"""A local, protocol-faithful emulator of Amazon Bedrock's Nova Sonic bidirectional stream.

Importable without the rtcore core and without the Bedrock provider. Names load on first use,
so ``rtcore --help`` (which registers the ``emulator`` command) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import make_client, make_trusting_transport
    from .script import Script
    from .server import NovaSonicEmulator
    from .tones import silence_pcm, tone_frequency, utterance_pcm, utterance_wav

_EXPORTS = {
    "NovaSonicEmulator": "server",
    "Script": "script",
    "make_client": "client",
    "make_trusting_transport": "client",
    "silence_pcm": "tones",
    "tone_frequency": "tones",
    "utterance_pcm": "tones",
    "utterance_wav": "tones",
}

__all__ = [
    "NovaSonicEmulator",
    "Script",
    "make_client",
    "make_trusting_transport",
    "silence_pcm",
    "tone_frequency",
    "utterance_pcm",
    "utterance_wav",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
