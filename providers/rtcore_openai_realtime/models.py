"""The three vendors that speak OpenAI's Realtime protocol, and what each serves: models,
voices, sample rates, session cap and list prices (docs/providers/openai.md, with sources).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from rtcore.provider import Prices

Vendor = Literal["openai", "azure", "xai"]

_M = 1e-6  # list prices are per million tokens


def _per_token(
    text_in: float,
    text_out: float,
    audio_in: float,
    audio_out: float,
    *,
    cached_text: float | None = None,
    cached_audio: float | None = None,
) -> Prices:
    return Prices(
        input_text=text_in * _M,
        output_text=text_out * _M,
        input_audio=audio_in * _M,
        output_audio=audio_out * _M,
        cached_input_text=None if cached_text is None else cached_text * _M,
        cached_input_audio=None if cached_audio is None else cached_audio * _M,
    )


# OpenAI's list prices (USD per 1M tokens: text in/out, audio in/out, and the cached input
# rates), from each model's
# page at developers.openai.com/api/docs/models (2026-12).
OPENAI_PRICES: dict[str, Prices] = {
    "gpt-realtime-2.1": _per_token(4.00, 24.00, 32.00, 64.00, cached_text=0.40, cached_audio=0.40),
    "gpt-realtime-2": _per_token(4.00, 24.00, 32.00, 64.00, cached_text=0.40, cached_audio=0.40),
    "gpt-realtime-1.5": _per_token(4.00, 16.00, 32.00, 64.00, cached_text=0.40, cached_audio=0.40),
    "gpt-realtime": _per_token(4.00, 16.00, 32.00, 64.00, cached_text=0.40, cached_audio=0.40),
    "gpt-realtime-2025-08-28": _per_token(
        4.00, 16.00, 32.00, 64.00, cached_text=0.40, cached_audio=0.40
    ),
    "gpt-realtime-2.1-mini": _per_token(
        0.60, 2.40, 10.00, 20.00, cached_text=0.06, cached_audio=0.30
    ),
    # The mini's cached rates are 2.1-mini's (the reference found no page of its own).
    "gpt-realtime-mini": _per_token(0.60, 2.40, 10.00, 20.00, cached_text=0.06, cached_audio=0.30),
    "gpt-4o-mini-realtime-preview": _per_token(
        0.60, 2.40, 10.00, 20.00, cached_text=0.30, cached_audio=0.30
    ),
}
OPENAI_MODELS = tuple(OPENAI_PRICES)
OPENAI_DEFAULT = "gpt-realtime-2"
# xAI bills $0.05 per minute of audio (docs.x.ai voice agent API), not per token.
XAI_PRICES = Prices(input_audio_second=0.05 / 60)
XAI_MODELS = ("grok-voice-think-fast-1.0", "grok-voice-think-fast-2.0", "grok-voice-latest")
XAI_DEFAULT = "grok-voice-think-fast-1.0"
AZURE_DEFAULT = "gpt-realtime"

OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
XAI_VOICES = (
    "eve",
    "ara",
    "leo",
    "rex",
    "sal",
    "carina",
    "zagan",
    "helix",
    "orion",
    "luna",
    "iris",
    "altair",
    "zenith",
    "perseus",
    "helios",
    "lux",
    "kepler",
    "rigel",
    "cosmo",
    "celeste",
    "ursa",
    "sirius",
    "lumen",
    "castor",
    "naksh",
    "atlas",
    "aurora",
    "liora",
)
XAI_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)
# Reasoning efforts each vendor takes (OpenAI's reasoning models; xAI high or none).
OPENAI_EFFORTS = frozenset({"minimal", "low", "medium", "high", "xhigh"})
XAI_EFFORTS = frozenset({"high", "none"})


class Profile(msgspec.Struct, frozen=True, kw_only=True):
    """One model on one vendor."""

    vendor: Vendor
    model: str  # what goes in ?model= (an Azure deployment's name)
    prices: Prices | None
    known: bool
    # The vendor ends a session after this long (OpenAI 60 minutes; xAI's published
    # figures conflict, 30 minutes is the lower).
    session_cap_seconds: float = 3600.0


def profile_for(vendor: Vendor, model: str, base_model: str | None = None) -> Profile:
    if vendor == "xai":
        known = model in XAI_MODELS or model.startswith("grok-voice-")
        return Profile(
            vendor=vendor, model=model, prices=XAI_PRICES, known=known, session_cap_seconds=1800.0
        )
    # An Azure deployment is priced as the model it deploys (model_info.base_model).
    priced = base_model.removeprefix("azure/") if base_model else model
    prices = OPENAI_PRICES.get(priced)
    return Profile(vendor=vendor, model=model, prices=prices, known=prices is not None)


def accepts_openai(model: str) -> bool:
    # gpt-4o alone (and gpt-4o-mini, gpt-4o-audio-preview) are chat models: only their
    # realtime snapshots are served here.
    return (
        model in OPENAI_MODELS
        or model.startswith("gpt-realtime")
        or (model.startswith("gpt-4o") and "realtime" in model)
    )


def accepts_xai(model: str) -> bool:
    return model.startswith("grok-voice")


def resolve_xai_voice(voice: str) -> str:
    """xAI's voices are case-insensitive; OpenAI's names stand for xAI's default (the core
    maps them when this raises)."""
    lowered = voice.lower()
    if lowered in XAI_VOICES:
        return lowered
    raise ValueError(
        f"Voice '{voice}' is not an xAI voice. Available voices: {', '.join(XAI_VOICES)}."
    )
