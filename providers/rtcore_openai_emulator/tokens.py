"""Token figures for usage: the emulator's own (the reference leaves OpenAI's exact counting
open; its rule of thumb, §4, is audio ≈10 tokens/s in and ≈20 tokens/s out)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

CHARS_PER_TEXT_TOKEN = 4.0
INPUT_AUDIO_TOKENS_PER_SECOND = 10.0
OUTPUT_AUDIO_TOKENS_PER_SECOND = 20.0
TOKENS_PER_MINUTE_LIMIT = 15_000_000  # the live sample's `tokens` limit (reference §3.7)


def text_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TEXT_TOKEN) if text else 0


def input_audio_tokens(seconds: float) -> int:
    return math.ceil(seconds * INPUT_AUDIO_TOKENS_PER_SECOND) if seconds > 0 else 0


def output_audio_tokens(seconds: float) -> int:
    return math.ceil(seconds * OUTPUT_AUDIO_TOKENS_PER_SECOND) if seconds > 0 else 0


@dataclass(slots=True)
class Usage:
    input_text: int = 0
    input_audio: int = 0
    cached_text: int = 0
    cached_audio: int = 0
    output_text: int = 0
    output_audio: int = 0

    @property
    def input_tokens(self) -> int:
        return self.input_text + self.input_audio

    @property
    def output_tokens(self) -> int:
        return self.output_text + self.output_audio

    def wire(self) -> dict[str, Any]:
        """``response.done.response.usage`` (reference §3.2)."""
        return {
            "total_tokens": self.input_tokens + self.output_tokens,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "input_token_details": {
                "text_tokens": self.input_text,
                "audio_tokens": self.input_audio,
                "image_tokens": 0,
                "cached_tokens": self.cached_text + self.cached_audio,
                "cached_tokens_details": {
                    "text_tokens": self.cached_text,
                    "audio_tokens": self.cached_audio,
                    "image_tokens": 0,
                },
            },
            "output_token_details": {
                "text_tokens": self.output_text,
                "audio_tokens": self.output_audio,
            },
        }
