"""A local, protocol-faithful emulator of Amazon Bedrock's Nova Sonic bidirectional stream.

Importable without the rtcore core and without the Bedrock provider.
"""

from .client import make_client, make_trusting_transport
from .script import Script
from .server import NovaSonicEmulator
from .tones import silence_pcm, tone_frequency, utterance_pcm, utterance_wav

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
