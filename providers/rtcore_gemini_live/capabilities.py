"""What a Gemini Live model can do, as the core enforces it, and the settings it refuses
(Gemini would ignore them or reject the connection)."""

from __future__ import annotations

import re

from rtcore.provider import Capabilities, SettingRefused
from rtcore.provider.messages import SessionConfig
from rtcore_gemini_live.models import DEFAULT_VOICE, VOICES, ModelProfile, resolve_voice

# Gemini's function names: a letter or underscore, then letters, digits, _ . : -, 64 at most.
_TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")


def check_config(config: SessionConfig) -> None:
    if config.tool_choice != "auto" and (config.tools or config.tool_choice != "none"):
        raise SettingRefused(
            "tool_choice",
            f"Gemini Live has no tool_choice: it decides itself whether to call a tool "
            f"({config.tool_choice!r} cannot be honoured). Use 'auto', or remove the tools "
            "the model must not call.",
        )
    if config.temperature is not None and not 0.0 <= config.temperature <= 2.0:
        raise SettingRefused("temperature", "Gemini takes a temperature from 0 to 2.")
    if config.top_p is not None and not 0.0 <= config.top_p <= 1.0:
        raise SettingRefused("top_p", "Gemini takes a top_p from 0 to 1.")
    for index, tool in enumerate(config.tools):
        if not _TOOL_NAME.match(tool.name):
            raise SettingRefused(
                f"tools[{index}].name",
                "Gemini function names start with a letter or underscore and hold letters, "
                "digits, _ . : - (64 characters at most).",
            )


def capabilities(profile: ModelProfile) -> Capabilities:
    return Capabilities(
        # The core converts other client rates to Gemini's native 16 kHz; Gemini always
        # speaks at 24 kHz.
        input_sample_rates=(16000,),
        output_sample_rates=(24000,),
        voices=VOICES,
        default_voice=DEFAULT_VOICE,
        normalize_voice=resolve_voice,
        output_modalities=("text", "audio"),
        server_vad=True,
        manual_commit=True,
        tools=True,
        # Gemini answers every turn itself (its answer is held until the client asks),
        # and NO_INTERRUPTION keeps a reply going while the user speaks.
        turn_options=frozenset({"create_response", "interrupt_response"}),
        # Voice, tools and inference settings are fixed per connection; instructions for
        # one reply go in with its turn.
        response_overrides=frozenset({"instructions"}),
        check_config=check_config,
        prices=profile.prices,
    )
