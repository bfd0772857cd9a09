"""Applying a ``session.update``: all of it, or (on any error) none of it."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET

from rtcore.dialect import Dialect
from rtcore.mcp.spec import McpAccess
from rtcore.protocol.errors import RealtimeError
from rtcore.protocol.wire import (
    NoiseReductionWire,
    SessionWire,
    TranscriptionWire,
    TurnDetectionWire,
    VoiceIdWire,
)
from rtcore.provider import Capabilities, SettingRefused
from rtcore.session.mcp_config import parse_mcp_tools, refuse_mcp_fields, split_tools
from rtcore.session.options import (
    parse_noise_reduction,
    parse_prompt,
    parse_reasoning,
    parse_speed,
    parse_truncation,
)
from rtcore.session.settings import (
    SessionState,
    check_max_tokens,
    check_voice,
    parse_beta_format,
    parse_ga_format,
    parse_modalities,
    parse_tool_choice,
    parse_tools,
    parse_turn_detection,
    to_neutral,
)


def apply_update(
    state: SessionState,
    wire: SessionWire,
    *,
    dialect: Dialect,
    caps: Capabilities,
    pcm16_rate: int,
    mcp: McpAccess | None = None,
) -> SessionState:
    """Return the new state (what changed for the provider is diffed by the session).

    Beta and GA fields are both understood whatever the connection's dialect, so a client
    mixing them is served rather than silently ignored. ``pcm16_rate`` is the rate assumed
    for a beta ``"pcm16"`` format (see docs/audio.md).
    """
    p = "session"
    ch: dict[str, Any] = {}
    if wire.instructions is not UNSET:
        ch["instructions"] = wire.instructions
    if wire.modalities is not UNSET:
        ch["output_modalities"] = parse_modalities(wire.modalities, f"{p}.modalities", Dialect.BETA)
    if wire.output_modalities is not UNSET:
        ch["output_modalities"] = parse_modalities(
            wire.output_modalities, f"{p}.output_modalities", dialect
        )
    if wire.voice is not UNSET:
        ch["voice"] = check_voice(wire.voice, caps, f"{p}.voice")
        ch["custom_voice"] = False
    if wire.input_audio_format is not UNSET:
        ch["input_format"] = parse_beta_format(
            wire.input_audio_format, f"{p}.input_audio_format", pcm16_rate
        )
    if wire.output_audio_format is not UNSET:
        # Output "pcm16" is 24 kHz as OpenAI defines it; the seed expects that too.
        ch["output_format"] = parse_beta_format(
            wire.output_audio_format, f"{p}.output_audio_format", 24000
        )
    if wire.input_audio_transcription is not UNSET:
        _transcription(wire.input_audio_transcription, caps, ch)
    if wire.input_audio_noise_reduction is not UNSET:
        _noise_reduction(
            wire.input_audio_noise_reduction, caps, ch, f"{p}.input_audio_noise_reduction"
        )
    if wire.turn_detection is not UNSET:
        ch["turn_detection"] = parse_turn_detection(wire.turn_detection, state.turn_detection)
    if wire.temperature is not UNSET:
        if not 0.0 <= wire.temperature <= 2.0:
            raise RealtimeError(
                "invalid_value",
                f"Invalid value: {wire.temperature}. Temperature is between 0 and 2.",
                param=f"{p}.temperature",
            )
        ch["temperature"] = wire.temperature
    if wire.top_p is not UNSET:
        if not 0.0 < wire.top_p <= 1.0:
            raise RealtimeError(
                "invalid_value",
                f"Invalid value: {wire.top_p}. top_p is above 0 and at most 1.",
                param=f"{p}.top_p",
            )
        ch["top_p"] = wire.top_p
    if wire.max_response_output_tokens is not UNSET:
        ch["max_output_tokens"] = check_max_tokens(
            wire.max_response_output_tokens, f"{p}.max_response_output_tokens"
        )
    if wire.max_output_tokens is not UNSET:
        ch["max_output_tokens"] = check_max_tokens(wire.max_output_tokens, f"{p}.max_output_tokens")
    if wire.speed is not UNSET:
        ch["speed"] = _speed(wire.speed, caps, f"{p}.speed")
    if wire.tools is not UNSET:
        refuse_mcp_fields(wire.tools, f"{p}.tools")
        functions, servers = split_tools(wire.tools)
        ch["tools"] = parse_tools(functions, f"{p}.tools")
        if servers and dialect is Dialect.BETA:
            raise RealtimeError(
                "invalid_value",
                "MCP tools belong to the GA interface (session.type 'realtime'); the beta "
                "one has no events for them.",
                param=f"{p}.tools[{servers[0][0]}].type",
            )
        if servers and not caps.tools:
            raise RealtimeError(
                "unsupported_parameter",
                "This model does not call functions, so it cannot call MCP tools either.",
                param=f"{p}.tools",
            )
        ch["mcp_servers"] = parse_mcp_tools(servers, mcp or McpAccess(), f"{p}.tools")
    if wire.tool_choice is not UNSET:
        ch["tool_choice"] = parse_tool_choice(wire.tool_choice, f"{p}.tool_choice")
    if wire.audio is not UNSET:
        _apply_audio(wire, state, caps, ch)
    _apply_options(wire, caps, ch)
    if "tool_choice" in ch and ch["tool_choice"].startswith("function:"):
        tools = ch.get("tools", state.tools)
        wanted = ch["tool_choice"].removeprefix("function:")
        if wanted not in {t.name for t in tools}:
            raise RealtimeError(
                "invalid_value",
                f"tool_choice names '{wanted}', which is not among the session's tools.",
                param=f"{p}.tool_choice",
            )
    _check_capabilities(ch, caps, wire)
    new = msgspec.structs.replace(state, **ch)
    if caps.check_config is not None:
        try:
            caps.check_config(to_neutral(new, caps))
        except SettingRefused as refused:
            raise RealtimeError(
                "invalid_value", refused.message, param=_param_of(refused.field, wire)
            ) from None
    return new


def _param_of(field: str, wire: SessionWire) -> str:
    """Where the client put a refused ``SessionConfig`` field."""
    name = field.split("[", 1)[0].split(".", 1)[0]
    out = wire.audio.output if wire.audio is not UNSET else UNSET
    if name == "voice" and out is not UNSET and out.voice is not UNSET:
        return "session.audio.output.voice"
    if name == "max_output_tokens" and wire.max_response_output_tokens is not UNSET:
        return "session.max_response_output_tokens"
    return f"session.{field}"


_TURN_OPTION_HELP = {
    "create_response": "it answers every turn it detects",
    "interrupt_response": "it stops speaking when the user speaks",
}


def _check_turn_options(td: TurnDetectionWire, caps: Capabilities, td_param: str) -> None:
    asked = {
        "create_response": td.create_response is False,
        "interrupt_response": td.interrupt_response is False,
    }
    if td.idle_timeout_ms not in (UNSET, None):
        # The idle timeout is the core's (session/idle.py), for every provider.
        if td.type != "server_vad":
            raise RealtimeError(
                "unsupported_parameter",
                "idle_timeout_ms is a server_vad setting; semantic_vad has none.",
                param=f"{td_param}.idle_timeout_ms",
            )
        if td.idle_timeout_ms <= 0:
            raise RealtimeError(
                "invalid_value",
                f"Invalid value for idle_timeout_ms: {td.idle_timeout_ms}; expected a "
                "positive number of milliseconds.",
                param=f"{td_param}.idle_timeout_ms",
            )
    for name, wanted in asked.items():
        if wanted and name not in caps.turn_options:
            raise RealtimeError(
                "unsupported_parameter",
                f"This model cannot take turn_detection.{name}: {_TURN_OPTION_HELP[name]}.",
                param=f"{td_param}.{name}",
            )


def _check_capabilities(ch: dict[str, Any], caps: Capabilities, wire: SessionWire) -> None:
    """What the provider declared it cannot do is refused here, never passed on unheard."""
    nested = wire.audio is not UNSET and wire.audio.input is not UNSET
    td_param = "session.audio.input.turn_detection" if nested else "session.turn_detection"
    if "turn_detection" in ch:
        if ch["turn_detection"] is not None and not caps.server_vad:
            raise RealtimeError(
                "unsupported_parameter",
                "This model has no server-side turn detection: set turn_detection to null "
                "and commit the audio buffer yourself.",
                param=td_param,
            )
        if ch["turn_detection"] is None and not caps.manual_commit:
            raise RealtimeError(
                "unsupported_parameter",
                "This model detects turns itself and takes no committed audio: keep "
                "turn_detection set.",
                param=td_param,
            )
    td_wire = wire.turn_detection
    if nested and wire.audio is not UNSET and wire.audio.input is not UNSET:
        td_wire = wire.audio.input.turn_detection
    if isinstance(td_wire, TurnDetectionWire):
        _check_turn_options(td_wire, caps, td_param)
    if ch.get("tools") and not caps.tools:
        raise RealtimeError(
            "unsupported_parameter", "This model does not call functions.", param="session.tools"
        )


def _apply_audio(
    wire: SessionWire, state: SessionState, caps: Capabilities, ch: dict[str, Any]
) -> None:
    audio = wire.audio
    assert audio is not UNSET
    p = "session.audio"
    if audio.input is not UNSET:
        inp = audio.input
        if inp.format is not UNSET:
            ch["input_format"] = parse_ga_format(inp.format, f"{p}.input.format")
        if inp.transcription is not UNSET:
            _transcription(inp.transcription, caps, ch)
        if inp.noise_reduction is not UNSET:
            _noise_reduction(inp.noise_reduction, caps, ch, f"{p}.input.noise_reduction")
        if inp.turn_detection is not UNSET:
            ch["turn_detection"] = parse_turn_detection(inp.turn_detection, state.turn_detection)
    if audio.output is not UNSET:
        out = audio.output
        if out.format is not UNSET:
            ch["output_format"] = parse_ga_format(out.format, f"{p}.output.format")
        if isinstance(out.voice, VoiceIdWire):
            if "custom_voice" not in caps.session_options:
                raise RealtimeError(
                    "unsupported_parameter",
                    "This model has no custom voices: name one of its voices instead.",
                    param=f"{p}.output.voice",
                )
            ch["voice"], ch["custom_voice"] = out.voice.id, True
        elif out.voice is not UNSET:
            ch["voice"] = check_voice(out.voice, caps, f"{p}.output.voice")
            ch["custom_voice"] = False
        if out.speed is not UNSET:
            ch["speed"] = _speed(out.speed, caps, f"{p}.output.speed")


# -- settings a provider applies only when it declares them (session_options) -------------


def _transcription(t: TranscriptionWire | None, caps: Capabilities, ch: dict[str, Any]) -> None:
    ch["transcription_model"] = None if t is None else (t.model or "provider")
    if "transcription" in caps.session_options:
        ch["transcription_language"] = None if t is None or t.language is UNSET else t.language
        ch["transcription_prompt"] = None if t is None or t.prompt is UNSET else t.prompt


def _noise_reduction(
    nr: NoiseReductionWire | None, caps: Capabilities, ch: dict[str, Any], param: str
) -> None:
    if "noise_reduction" in caps.session_options:
        ch["noise_reduction"] = parse_noise_reduction(nr, param)


def _speed(speed: float, caps: Capabilities, param: str) -> float:
    return parse_speed(speed, param) if "speed" in caps.session_options else speed


def _apply_options(wire: SessionWire, caps: Capabilities, ch: dict[str, Any]) -> None:
    """Reasoning, truncation, parallel tool calls and a stored prompt: taken (and checked)
    when the provider applies them, else accepted and not applied, as before."""
    declared = caps.session_options
    if wire.reasoning is not UNSET and "reasoning_effort" in declared:
        ch["reasoning_effort"] = parse_reasoning(wire.reasoning, "session.reasoning")
    if wire.truncation is not UNSET and "truncation" in declared:
        ch["truncation"] = parse_truncation(wire.truncation, "session.truncation")
    if wire.parallel_tool_calls is not UNSET and "parallel_tool_calls" in declared:
        ch["parallel_tool_calls"] = wire.parallel_tool_calls
    if wire.prompt is not UNSET and "prompt" in declared:
        ch["prompt"] = parse_prompt(wire.prompt, "session.prompt")
