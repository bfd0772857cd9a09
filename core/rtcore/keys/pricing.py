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
}


def prices_for(listed: Prices | None, info: Mapping[str, object]) -> Prices:
    fields = {
        name: getattr(listed, name) if listed is not None else 0.0 for name in OVERRIDES.values()
    }
    for key, name in OVERRIDES.items():
        value = info.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            fields[name] = float(value)
    return Prices(**fields)


def cost(
    usage: Usage, prices: Prices, *, seconds_in: float = 0.0, seconds_out: float = 0.0
) -> float:
    """Tokens at their prices, plus the seconds of audio sent to the provider and
    received from it at theirs."""
    return (
        usage.input_text_tokens * prices.input_text
        + usage.input_audio_tokens * prices.input_audio
        + usage.output_text_tokens * prices.output_text
        + usage.output_audio_tokens * prices.output_audio
        + seconds_in * prices.input_audio_second
        + seconds_out * prices.output_audio_second
    )
