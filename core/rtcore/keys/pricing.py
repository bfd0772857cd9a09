"""What a session's usage costs: the provider's list prices, overridden per model by
LiteLLM's ``model_info`` cost fields (USD per token, or per second of audio for a vendor
that bills by duration)."""

from __future__ import annotations

from collections.abc import Mapping

from rtcore.provider import Prices
from rtcore.provider.messages import Usage

# model_info field -> Prices field, as LiteLLM names them.
OVERRIDES = {
    "input_cost_per_token": "input_text",
    "output_cost_per_token": "output_text",
    "input_cost_per_audio_token": "input_audio",
    "output_cost_per_audio_token": "output_audio",
    "input_cost_per_second": "input_audio_second",
    "output_cost_per_second": "output_audio_second",
    "cache_read_input_token_cost": "cached_input_text",
}


def prices_for(listed: Prices | None, info: Mapping[str, object]) -> Prices:
    fields: dict[str, float | None] = {
        name: getattr(listed, name) if listed is not None else None
        for name in (*OVERRIDES.values(), "cached_input_audio")
    }
    for key, name in OVERRIDES.items():
        value = info.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            fields[name] = float(value)
    return Prices(**{k: v for k, v in fields.items() if v is not None})


def cost(
    usage: Usage, prices: Prices, *, seconds_in: float = 0.0, seconds_out: float = 0.0
) -> float:
    """Tokens at their prices, plus the seconds of audio sent to the provider and
    received from it at theirs."""
    cached_audio = min(usage.cached_audio_tokens, usage.input_audio_tokens)
    cached_text = min(max(0, usage.cached_tokens - cached_audio), usage.input_text_tokens)
    text_cached = (
        prices.input_text if prices.cached_input_text is None else prices.cached_input_text
    )
    audio_cached = (
        prices.input_audio if prices.cached_input_audio is None else prices.cached_input_audio
    )
    return (
        (usage.input_text_tokens - cached_text) * prices.input_text
        + cached_text * text_cached
        + (usage.input_audio_tokens - cached_audio) * prices.input_audio
        + cached_audio * audio_cached
        + usage.output_text_tokens * prices.output_text
        + usage.output_audio_tokens * prices.output_audio
        + seconds_in * prices.input_audio_second
        + seconds_out * prices.output_audio_second
    )
