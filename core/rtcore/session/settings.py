"""The effective session configuration and how ``session.update`` changes it."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import UNSET

from rtcore import audio
from rtcore.audio import AudioFormat
from rtcore.dialect import Dialect
from rtcore.mcp.spec import ServerSpec, remote_server
from rtcore.protocol.errors import RealtimeError
from rtcore.protocol.wire import (
    AudioFormatWire,
    ToolChoiceWire,
    ToolWire,
    TurnDetectionWire,
)
from rtcore.provider import Capabilities
from rtcore.provider.messages import (
    Modality,
    PromptRef,
    SessionConfig,
    ToolDef,
    Transcription,
    Truncation,
    TurnDetection,
)

MaxTokens = int | Literal["inf"]

# What an unset temperature is shown as (OpenAI's default): the provider's own applies.
DEFAULT_TEMPERATURE = 0.8


class SessionState(msgspec.Struct, frozen=True, kw_only=True):
    """What the client configured, in one internal shape for both dialects."""

    id: str
    model: str
    instructions: str = ""
    voice: str | None = None
    output_modalities: tuple[Modality, ...] = ("text", "audio")
    input_format: AudioFormat = AudioFormat(encoding="pcm16", sample_rate=24000)
    output_format: AudioFormat = AudioFormat(encoding="pcm16", sample_rate=24000)
    transcription_model: str | None = None
    turn_detection: TurnDetection | None = TurnDetection()
    tools: tuple[ToolDef, ...] = ()
    # The session's MCP servers, and the tools of theirs offered to the model (as
    # functions: the gateway runs them; rtcore.session.mcp_bridge).
    mcp_servers: tuple[ServerSpec, ...] = ()
    mcp_functions: tuple[ToolDef, ...] = ()
    tool_choice: str = "auto"
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: MaxTokens = "inf"
    speed: float | None = None
    expires_at: int = 0
    # Set only for a provider that applies them (Capabilities.session_options), so
    # session.updated shows them exactly when they took effect.
    transcription_language: str | None = None
    transcription_prompt: str | None = None
    noise_reduction: Literal["near_field", "far_field"] | None = None
    reasoning_effort: str | None = None
    truncation: Truncation | None = None
    parallel_tool_calls: bool | None = None
    prompt: PromptRef | None = None
    custom_voice: bool = False


def parse_beta_format(name: str, param: str, pcm16_rate: int) -> AudioFormat:
    parsed = audio.parse_beta_format(name, pcm16_rate=pcm16_rate)
    if isinstance(parsed, str):
        raise RealtimeError("invalid_value", f"Invalid '{param}': {parsed}.", param=param)
    return parsed


def parse_ga_format(fmt: AudioFormatWire, param: str) -> AudioFormat:
    shape: dict[str, object] = {"type": fmt.type}
    if fmt.rate is not UNSET:
        shape["rate"] = fmt.rate
    parsed = audio.parse_ga_format(shape)
    if isinstance(parsed, str):
        raise RealtimeError("invalid_value", f"Invalid '{param}': {parsed}.", param=param)
    return parsed


def parse_tools(tools: list[ToolWire], param: str) -> tuple[ToolDef, ...]:
    out: list[ToolDef] = []
    for i, tool in enumerate(tools):
        where = f"{param}[{i}]"
        if tool.type != "function":
            where_mcp = " (MCP servers are set with session.update)" if tool.type == "mcp" else ""
            raise RealtimeError(
                "invalid_value",
                f"Invalid value: '{tool.type}'. Only 'function' tools are supported "
                f"here{where_mcp}.",
                param=f"{where}.type",
            )
        fn = tool.function
        name = fn.name if fn is not UNSET else tool.name
        if name is UNSET:
            raise RealtimeError(
                "missing_required_parameter",
                f"Missing required parameter: '{where}.name'.",
                param=f"{where}.name",
            )
        description = fn.description if fn is not UNSET else tool.description
        parameters = fn.parameters if fn is not UNSET else tool.parameters
        out.append(
            ToolDef(
                name=name,
                description="" if description is UNSET else description,
                parameters={} if parameters is UNSET else parameters,
            )
        )
    names = [t.name for t in out]
    if len(set(names)) != len(names):
        raise RealtimeError("invalid_value", "Tool names must be unique.", param=param)
    return tuple(out)


def parse_tool_choice(choice: ToolChoiceWire, param: str) -> str:
    """Neutral form: "auto" | "none" | "required" | "function:<name>"."""
    if isinstance(choice, str):
        if choice not in ("auto", "none", "required"):
            raise RealtimeError(
                "invalid_value",
                f"Invalid value: '{choice}'. Supported values are: 'auto', 'none', 'required', "
                "or {'type': 'function', 'name': ...}.",
                param=param,
            )
        return choice
    name = choice.function.name if choice.function is not UNSET else choice.name
    if name is UNSET:
        raise RealtimeError(
            "missing_required_parameter",
            f"Missing required parameter: '{param}.name'.",
            param=f"{param}.name",
        )
    return f"function:{name}"


def parse_modalities(values: list[str], param: str, dialect: Dialect) -> tuple[Modality, ...]:
    allowed = {"text", "audio"}
    for v in values:
        if v not in allowed:
            raise RealtimeError(
                "invalid_value",
                f"Invalid value: '{v}'. Supported values are: 'text' and 'audio'.",
                param=param,
            )
    if not values:
        raise RealtimeError("invalid_value", "At least one modality is required.", param=param)
    if dialect is Dialect.GA and len(set(values)) > 1:
        raise RealtimeError(
            "invalid_value",
            "output_modalities takes ['audio'] or ['text']; audio output always includes "
            "its transcript.",
            param=param,
        )
    mods: tuple[Modality, ...] = ("text", "audio") if "audio" in values else ("text",)
    if "audio" in values and "text" not in values:
        # Audio replies always carry their transcript, so text is implied.
        mods = ("text", "audio")
    return mods


def parse_turn_detection(
    td: TurnDetectionWire | None, current: TurnDetection | None
) -> TurnDetection | None:
    if td is None:
        return None
    base = current or TurnDetection()
    changes: dict[str, object] = {"type": td.type}
    for name in (
        "threshold",
        "prefix_padding_ms",
        "silence_duration_ms",
        "create_response",
        "interrupt_response",
        "eagerness",
        "idle_timeout_ms",
    ):
        value = getattr(td, name)
        if value is not UNSET:
            changes[name] = value
    return msgspec.structs.replace(base, **changes)


# OpenAI's own voice names. Clients send them as defaults without being asked (the Agents
# SDK always sends "ash", pipecat "alloy"), so refusing them would refuse the whole
# session.update (tools, instructions and all) of every unmodified client.
OPENAI_VOICES = frozenset(
    ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar")
)


def check_voice(voice: str, caps: Capabilities, param: str) -> str:
    """The voice to use, validated once, here, by the provider's own rule when it has one.
    An OpenAI voice name the model lacks stands for the model's default voice (and is
    reported as such in ``session.updated``); any other unknown name is an error that lists
    the model's voices."""
    if caps.normalize_voice is not None:
        try:
            return caps.normalize_voice(voice)
        except ValueError as exc:
            if voice in OPENAI_VOICES and (caps.default_voice or caps.voices):
                return caps.default_voice or caps.voices[0]
            raise RealtimeError("invalid_value", str(exc), param=param) from None
    if caps.voices and voice not in caps.voices and voice in OPENAI_VOICES:
        return caps.default_voice or caps.voices[0]
    if caps.voices and voice not in caps.voices:
        listed = ", ".join(caps.voices)
        raise RealtimeError(
            "invalid_value",
            f"Voice '{voice}' is not available for this model. Available voices: {listed}.",
            param=param,
        )
    return voice


def check_max_tokens(value: MaxTokens, param: str) -> MaxTokens:
    if value != "inf" and not (isinstance(value, int) and 1 <= value <= 4096):
        raise RealtimeError(
            "invalid_value",
            f"Invalid value: {value!r}. Expected an integer from 1 to 4096, or 'inf'.",
            param=param,
        )
    return value


def to_neutral(state: SessionState, caps: Capabilities, *, media: bool = False) -> SessionConfig:
    """The session's configuration as the provider sees it. ``media``: the audio travels
    out of band (WebRTC), as PCM16 whatever formats the client names."""
    in_fmt = _crossing(state.input_format, caps.input_sample_rates, caps, media)
    out_fmt = _crossing(state.output_format, caps.output_sample_rates, caps, media)
    return SessionConfig(
        model=state.model,
        session_id=state.id,
        instructions=state.instructions,
        voice=state.voice,
        output_modalities=state.output_modalities,
        temperature=state.temperature,
        top_p=state.top_p,
        max_output_tokens=None
        if state.max_output_tokens == "inf"
        else int(state.max_output_tokens),
        tools=state.tools + state.mcp_functions,
        tool_choice=state.tool_choice,
        turn_detection=state.turn_detection,
        input_sample_rate=in_fmt.sample_rate,
        output_sample_rate=out_fmt.sample_rate,
        input_encoding=in_fmt.encoding,
        output_encoding=out_fmt.encoding,
        mcp_servers=tuple(remote_server(s) for s in state.mcp_servers) if caps.remote_mcp else (),
        **_session_options(state, caps.session_options),
    )


def _crossing(
    client: AudioFormat, rates: tuple[int, ...], caps: Capabilities, media: bool
) -> AudioFormat:
    """The audio the provider takes: the client's own G.711 when it takes that as it is,
    else PCM16 at the provider's rate nearest the client's."""
    if not media and client.encoding in caps.passthrough_encodings:
        return client
    return AudioFormat("pcm16", nearest_rate(client.sample_rate, rates))


def _session_options(state: SessionState, declared: frozenset[str]) -> dict[str, Any]:
    """The optional settings the provider applies; the others keep their defaults."""
    out: dict[str, Any] = {}
    if "transcription" in declared and state.transcription_model is not None:
        model = state.transcription_model
        out["transcription"] = Transcription(
            model=None if model == "provider" else model,
            language=state.transcription_language,
            prompt=state.transcription_prompt,
        )
    if "speed" in declared:
        out["speed"] = state.speed
    for name in (
        "noise_reduction",
        "reasoning_effort",
        "truncation",
        "parallel_tool_calls",
        "prompt",
        "custom_voice",
    ):
        if name in declared:
            out[name] = getattr(state, name)
    return out


def with_input_rate(state: SessionState, rate: int) -> SessionState:
    """``state`` with its PCM16 input at ``rate`` (G.711 is always 8 kHz)."""
    if state.input_format.encoding != "pcm16":
        return state
    fmt = msgspec.structs.replace(state.input_format, sample_rate=rate)
    return msgspec.structs.replace(state, input_format=fmt)


def nearest_rate(wanted: int, supported: tuple[int, ...]) -> int:
    """The provider rate to convert to: the client's own if supported (no resampling),
    else the lowest rate at or above it (no information thrown away), else the highest."""
    if wanted in supported:
        return wanted
    above = sorted(r for r in supported if r >= wanted)
    return above[0] if above else max(supported)
