"""A local, protocol-faithful emulator of Amazon Bedrock's Nova Sonic bidirectional stream.

Importable without the rtcore core and without the Bedrock provider. Names load on first use,
so ``rtcore --help`` (which registers the ``emulator`` command) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rtcore_emulator_kit.lazy import lazy_exports

if TYPE_CHECKING:
    from .client import make_client, make_trusting_transport
    from .script import Script
    from .server import NovaSonicEmulator
    from .tones import silence_pcm, tone_frequency, utterance_pcm, utterance_wav

__getattr__ = lazy_exports(
    __name__,
    {
        "NovaSonicEmulator": ".server",
        "Script": ".script",
        "make_client": ".client",
        "make_trusting_transport": ".client",
        "silence_pcm": ".tones",
        "tone_frequency": ".tones",
        "utterance_pcm": ".tones",
        "utterance_wav": ".tones",
    },
)

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
