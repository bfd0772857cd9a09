"""What each vendor's models can do, as the core enforces it, and the settings each
refuses (the upstream would reject the session update otherwise)."""

from __future__ import annotations

from rtcore.provider import ALL_RESPONSE_OVERRIDES, Capabilities, SettingRefused
from rtcore.provider.messages import AudioEncoding, SessionConfig
from rtcore_openai_realtime.models import (
    OPENAI_EFFORTS,
    OPENAI_VOICES,
    XAI_EFFORTS,
    XAI_RATES,
    XAI_VOICES,
    Profile,
    resolve_xai_voice,
)

# GA sessions have no temperature (nor top_p): a response cannot vary it either.
_OPENAI_OVERRIDES = ALL_RESPONSE_OVERRIDES - {"temperature"}
# xAI's response.create takes instructions, modalities and tools (PCX ResponseProperties).
_XAI_OVERRIDES = frozenset({"instructions", "output_modalities", "tools", "tool_choice"})
_OPENAI_OPTIONS = frozenset(
    {"transcription", "noise_reduction", "speed", "reasoning_effort", "truncation", "prompt"}
    | {"parallel_tool_calls", "custom_voice"}
)
_XAI_OPTIONS = frozenset({"transcription", "speed", "reasoning_effort"})
# All three take G.711 µ-law and A-law as audio/pcmu and audio/pcma (reference §2, audio
# formats): a client's telephony audio passes through unconverted.
_G711: frozenset[AudioEncoding] = frozenset({"g711_ulaw", "g711_alaw"})


def _check_openai(config: SessionConfig) -> None:
    if config.reasoning_effort is not None and config.reasoning_effort not in OPENAI_EFFORTS:
        raise SettingRefused(
            "reasoning_effort",
            f"OpenAI takes a reasoning effort of {', '.join(sorted(OPENAI_EFFORTS))}.",
        )


def _check_xai(config: SessionConfig) -> None:
    if config.reasoning_effort is not None and config.reasoning_effort not in XAI_EFFORTS:
        raise SettingRefused("reasoning_effort", "xAI takes a reasoning effort of high or none.")
    if config.speed is not None and not 0.7 <= config.speed <= 1.5:
        raise SettingRefused("speed", "xAI takes a speed from 0.7 to 1.5.")
    if len(config.instructions) > 16384:
        raise SettingRefused("instructions", "xAI takes instructions of 16,384 characters at most.")


def capabilities(profile: Profile, *, remote_mcp: bool = False) -> Capabilities:
    if profile.vendor == "xai":
        return Capabilities(
            input_sample_rates=XAI_RATES,
            output_sample_rates=XAI_RATES,
            voices=XAI_VOICES,
            default_voice="eve",
            normalize_voice=resolve_xai_voice,
            output_modalities=("text", "audio"),
            # xAI's turn detection has no create_response / interrupt_response switches.
            turn_options=frozenset(),
            response_overrides=_XAI_OVERRIDES,
            session_options=_XAI_OPTIONS,
            check_config=_check_xai,
            passthrough_encodings=_G711,
            prices=profile.prices,
        )
    return Capabilities(
        input_sample_rates=(24000,),
        output_sample_rates=(24000,),
        voices=OPENAI_VOICES,
        default_voice="marin",
        output_modalities=("text", "audio"),
        response_overrides=_OPENAI_OVERRIDES,
        session_options=_OPENAI_OPTIONS,
        check_config=_check_openai,
        passthrough_encodings=_G711,
        prices=profile.prices,
        remote_mcp=remote_mcp,
    )
