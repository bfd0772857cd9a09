"""Applying a ``session.update``: all of it, or (on any error) none of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec import UNSET

from rtcore.dialect import Dialect
from rtcore.mcp.spec import McpAccess
from rtcore.protocol.errors import RealtimeError
from rtcore.protocol.wire import (
    NoiseReductionWire,
    SessionWire,
    ToolWire,
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


@dataclass(frozen=True, slots=True)
class _Update:
    """What a field's parser may need beside the field's value."""

    state: SessionState
    dialect: Dialect
    caps: Capabilities
    pcm16_rate: int
    mcp: McpAccess


# A top-level field of the update: its value, the update, its param -> the settings it sets.
_Parse = Callable[[Any, _Update, str], dict[str, Any]]


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
    update = _Update(state, dialect, caps, pcm16_rate, mcp or McpAccess())
    ch: dict[str, Any] = {}
    for name, parse in _TOP_LEVEL:
        value = getattr(wire, name)
        if value is not UNSET:
            ch.update(parse(value, update, f"session.{name}"))
    if wire.audio is not UNSET:
        _apply_audio(wire, state, caps, ch)
    _apply_options(wire, caps, ch)
    _check_tool_choice(ch, state)
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


def _voice(voice: str, u: _Update, param: str) -> dict[str, Any]:
    return {"voice": check_voice(voice, u.caps, param), "custom_voice": False}


def _temperature(value: float, u: _Update, param: str) -> dict[str, Any]:
    if not 0.0 <= value <= 2.0:
        raise RealtimeError(
            "invalid_value",
            f"Invalid value: {value}. Temperature is between 0 and 2.",
            param=param,
        )
    return {"temperature": value}


def _top_p(value: float, u: _Update, param: str) -> dict[str, Any]:
    if not 0.0 < value <= 1.0:
        raise RealtimeError(
            "invalid_value",
            f"Invalid value: {value}. top_p is above 0 and at most 1.",
            param=param,
        )
    return {"top_p": value}


def _tools(tools: list[ToolWire], u: _Update, param: str) -> dict[str, Any]:
    """Function tools and MCP servers, given together in ``tools``."""
    refuse_mcp_fields(tools, param)
    functions, servers = split_tools(tools)
    parsed = parse_tools(functions, param)
    if servers and u.dialect is Dialect.BETA:
        raise RealtimeError(
            "invalid_value",
            "MCP tools belong to the GA interface (session.type 'realtime'); the beta "
            "one has no events for them.",
            param=f"{param}[{servers[0][0]}].type",
        )
    if servers and not u.caps.tools:
        raise RealtimeError(
            "unsupported_parameter",
            "This model does not call functions, so it cannot call MCP tools either.",
            param=param,
        )
    return {"tools": parsed, "mcp_servers": parse_mcp_tools(servers, u.mcp, param)}


# In the order they apply: where both dialects name a setting, the later field wins.
_TOP_LEVEL: tuple[tuple[str, _Parse], ...] = (
    ("instructions", lambda v, u, p: {"instructions": v}),
    ("modalities", lambda v, u, p: {"output_modalities": parse_modalities(v, p, Dialect.BETA)}),
    ("output_modalities", lambda v, u, p: {"output_modalities": parse_modalities(v, p, u.dialect)}),
    ("voice", _voice),
    ("input_audio_format", lambda v, u, p: {"input_format": parse_beta_format(v, p, u.pcm16_rate)}),
    # Output "pcm16" is 24 kHz as OpenAI defines it; the seed expects that too.
    ("output_audio_format", lambda v, u, p: {"output_format": parse_beta_format(v, p, 24000)}),
    ("input_audio_transcription", lambda v, u, p: _transcription(v, u.caps)),
    ("input_audio_noise_reduction", lambda v, u, p: _noise_reduction(v, u.caps, p)),
    (
        "turn_detection",
        lambda v, u, p: {"turn_detection": parse_turn_detection(v, u.state.turn_detection)},
    ),
    ("temperature", _temperature),
    ("top_p", _top_p),
    ("max_response_output_tokens", lambda v, u, p: {"max_output_tokens": check_max_tokens(v, p)}),
    ("max_output_tokens", lambda v, u, p: {"max_output_tokens": check_max_tokens(v, p)}),
    ("speed", lambda v, u, p: {"speed": _speed(v, u.caps, p)}),
    ("tools", _tools),
    ("tool_choice", lambda v, u, p: {"tool_choice": parse_tool_choice(v, p)}),
)


def _check_tool_choice(ch: dict[str, Any], state: SessionState) -> None:
    """A tool choice that names a function names one of the session's tools (as updated)."""
    if "tool_choice" in ch and ch["tool_choice"].startswith("function:"):
        tools = ch.get("tools", state.tools)
        wanted = ch["tool_choice"].removeprefix("function:")
        if wanted not in {t.name for t in tools}:
            raise RealtimeError(
                "invalid_value",
                f"tool_choice names '{wanted}', which is not among the session's tools.",
                param="session.tool_choice",
            )


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
            ch.update(_transcription(inp.transcription, caps))
        if inp.noise_reduction is not UNSET:
            ch.update(_noise_reduction(inp.noise_reduction, caps, f"{p}.input.noise_reduction"))
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


def _transcription(t: TranscriptionWire | None, caps: Capabilities) -> dict[str, Any]:
    ch: dict[str, Any] = {"transcription_model": None if t is None else (t.model or "provider")}
    if "transcription" in caps.session_options:
        ch["transcription_language"] = None if t is None or t.language is UNSET else t.language
        ch["transcription_prompt"] = None if t is None or t.prompt is UNSET else t.prompt
    return ch


def _noise_reduction(
    nr: NoiseReductionWire | None, caps: Capabilities, param: str
) -> dict[str, Any]:
    if "noise_reduction" in caps.session_options:
        return {"noise_reduction": parse_noise_reduction(nr, param)}
    return {}


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
