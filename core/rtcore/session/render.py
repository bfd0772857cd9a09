"""Rendering internal state as each dialect's wire objects."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET, Struct, UnsetType

from rtcore.audio import AudioFormat
from rtcore.dialect import Dialect
from rtcore.protocol.objects import (
    AnyItemOut,
    ItemOut,
    McpApprovalRequestOut,
    McpApprovalResponseOut,
    McpCallOut,
    McpErrorOut,
    McpListToolsOut,
    McpToolOut,
    PartOut,
    RateLimitOut,
)
from rtcore.provider import messages as n
from rtcore.provider.messages import ToolDef, TurnDetection
from rtcore.session.conversation import ConvItem, Part
from rtcore.session.settings import DEFAULT_TEMPERATURE, SessionState


class ToolOut(Struct, kw_only=True):
    type: str = "function"
    name: str
    description: str
    parameters: dict[str, object]


class McpToolConfigOut(Struct, kw_only=True, omit_defaults=True):
    """A session's MCP server as session.updated shows it: never its credentials, nor the
    URL of the operator's server."""

    type: str
    server_label: str
    server_url: str | None = None
    server_description: str | None = None


class TurnDetectionOut(Struct, kw_only=True, omit_defaults=True):
    type: str
    threshold: float | UnsetType = UNSET
    prefix_padding_ms: int | UnsetType = UNSET
    silence_duration_ms: int | UnsetType = UNSET
    eagerness: str | UnsetType = UNSET
    create_response: bool = True
    interrupt_response: bool = True
    idle_timeout_ms: int | UnsetType = UNSET


class TranscriptionOut(Struct, kw_only=True):
    model: str
    # Shown only when the provider applies them (UNSET is never encoded).
    language: str | UnsetType = UNSET
    prompt: str | UnsetType = UNSET


class NoiseReductionOut(Struct, kw_only=True):
    type: str


class VoiceIdOut(Struct, kw_only=True):
    id: str


class ReasoningOut(Struct, kw_only=True):
    effort: str


class TruncationOut(Struct, kw_only=True):
    type: str
    retention_ratio: float


class PromptOut(Struct, kw_only=True):
    id: str
    version: str | None
    variables: dict[str, object]


class FormatOut(Struct, kw_only=True, omit_defaults=True):
    type: str
    rate: int | UnsetType = UNSET


class BetaSession(Struct, kw_only=True):
    id: str
    object: str = "realtime.session"
    model: str
    expires_at: int
    modalities: list[str]
    instructions: str
    voice: str | None
    input_audio_format: str
    output_audio_format: str
    input_audio_transcription: TranscriptionOut | None
    turn_detection: TurnDetectionOut | None
    tools: list[ToolOut]
    tool_choice: Any
    temperature: float
    max_response_output_tokens: int | str
    speed: float | None = None
    tracing: None = None


class GaAudioInput(Struct, kw_only=True):
    format: FormatOut
    transcription: TranscriptionOut | None
    noise_reduction: NoiseReductionOut | None = None
    turn_detection: TurnDetectionOut | None


class GaAudioOutput(Struct, kw_only=True):
    format: FormatOut
    voice: str | VoiceIdOut | None
    speed: float = 1.0


class GaAudio(Struct, kw_only=True):
    input: GaAudioInput
    output: GaAudioOutput


class GaSession(Struct, kw_only=True):
    type: str = "realtime"
    object: str = "realtime.session"
    id: str
    model: str
    expires_at: int
    output_modalities: list[str]
    instructions: str
    audio: GaAudio
    tools: list[ToolOut | McpToolConfigOut]
    tool_choice: Any
    max_output_tokens: int | str
    tracing: None = None
    truncation: str | TruncationOut = "auto"
    prompt: PromptOut | None = None
    include: None = None
    reasoning: ReasoningOut | UnsetType = UNSET


class HybridSession(GaSession, kw_only=True):
    """Sent as ``session.created`` before the client has shown its dialect: the GA object
    (strict GA clients require ``type``) plus the beta fields beta clients read."""

    modalities: list[str]
    voice: str | None
    input_audio_format: str
    output_audio_format: str
    turn_detection: TurnDetectionOut | None
    input_audio_transcription: TranscriptionOut | None
    temperature: float
    max_response_output_tokens: int | str


def _tools(tools: tuple[ToolDef, ...]) -> list[ToolOut]:
    return [ToolOut(name=t.name, description=t.description, parameters=t.parameters) for t in tools]


def _ga_tools(state: SessionState) -> list[ToolOut | McpToolConfigOut]:
    servers = [
        McpToolConfigOut(
            type="mcp",
            server_label=s.label,
            server_url=None if s.operator else s.url,
            server_description=s.description,
        )
        for s in state.mcp_servers
    ]
    return [*_tools(state.tools), *servers]


def _tool_choice(choice: str) -> Any:
    if choice.startswith("function:"):
        return {"type": "function", "name": choice.removeprefix("function:")}
    return choice


def _turn_detection(td: TurnDetection | None) -> TurnDetectionOut | None:
    if td is None:
        return None
    semantic = td.type == "semantic_vad"
    return TurnDetectionOut(
        type=td.type,
        threshold=UNSET if semantic else (0.5 if td.threshold is None else td.threshold),
        prefix_padding_ms=UNSET if semantic else (td.prefix_padding_ms or 300),
        silence_duration_ms=UNSET if semantic else (td.silence_duration_ms or 500),
        eagerness=(td.eagerness or "auto") if semantic else UNSET,
        create_response=td.create_response,
        interrupt_response=td.interrupt_response,
        idle_timeout_ms=UNSET if semantic or td.idle_timeout_ms is None else td.idle_timeout_ms,
    )


def _ga_format(fmt: AudioFormat) -> FormatOut:
    shape = fmt.ga_object()
    rate = shape.get("rate")
    return FormatOut(type=str(shape["type"]), rate=rate if isinstance(rate, int) else UNSET)


def _transcription(state: SessionState) -> TranscriptionOut | None:
    if not state.transcription_model:
        return None
    return TranscriptionOut(
        model=state.transcription_model,
        language=UNSET if state.transcription_language is None else state.transcription_language,
        prompt=UNSET if state.transcription_prompt is None else state.transcription_prompt,
    )


def _truncation(state: SessionState) -> str | TruncationOut:
    t = state.truncation
    if t is None or t.type != "retention_ratio":
        return "auto" if t is None else t.type
    return TruncationOut(type=t.type, retention_ratio=t.retention_ratio or 0.0)


def _prompt(state: SessionState) -> PromptOut | None:
    p = state.prompt
    return None if p is None else PromptOut(id=p.id, version=p.version, variables=p.variables)


def render_session(state: SessionState, dialect: Dialect | None) -> Struct:
    transcription = _transcription(state)
    if dialect is Dialect.BETA:
        return BetaSession(
            id=state.id,
            model=state.model,
            expires_at=state.expires_at,
            modalities=list(state.output_modalities),
            instructions=state.instructions,
            voice=state.voice,
            input_audio_format=state.input_format.beta_name(),
            output_audio_format=state.output_format.beta_name(),
            input_audio_transcription=transcription,
            turn_detection=_turn_detection(state.turn_detection),
            tools=_tools(state.tools),
            tool_choice=_tool_choice(state.tool_choice),
            temperature=DEFAULT_TEMPERATURE if state.temperature is None else state.temperature,
            max_response_output_tokens=state.max_output_tokens,
            speed=state.speed,
        )
    ga = GaSession(
        id=state.id,
        model=state.model,
        expires_at=state.expires_at,
        output_modalities=ga_modalities(state.output_modalities),
        instructions=state.instructions,
        audio=GaAudio(
            input=GaAudioInput(
                format=_ga_format(state.input_format),
                transcription=transcription,
                noise_reduction=None
                if state.noise_reduction is None
                else NoiseReductionOut(type=state.noise_reduction),
                turn_detection=_turn_detection(state.turn_detection),
            ),
            output=GaAudioOutput(
                format=_ga_format(state.output_format),
                voice=VoiceIdOut(id=state.voice)
                if state.custom_voice and state.voice
                else state.voice,
                speed=1.0 if state.speed is None else state.speed,
            ),
        ),
        tools=_ga_tools(state),
        tool_choice=_tool_choice(state.tool_choice),
        max_output_tokens=state.max_output_tokens,
        truncation=_truncation(state),
        prompt=_prompt(state),
        reasoning=UNSET
        if state.reasoning_effort is None
        else ReasoningOut(effort=state.reasoning_effort),
    )
    if dialect is Dialect.GA:
        return ga
    beta = render_session(state, Dialect.BETA)
    assert isinstance(beta, BetaSession)
    fields = {f: getattr(ga, f) for f in ga.__struct_fields__}
    fields |= {f: getattr(beta, f) for f in HybridSession.__struct_fields__ if f not in fields}
    return HybridSession(**fields)


def ga_modalities(modalities: tuple[str, ...]) -> list[str]:
    """GA takes ["audio"] or ["text"]: audio output always carries its transcript."""
    return ["audio"] if "audio" in modalities else ["text"]


def beta_format(fmt: AudioFormat) -> str:
    return fmt.beta_name()


def ga_format(fmt: AudioFormat) -> FormatOut:
    return _ga_format(fmt)


def _part(part: Part, role: str | None, dialect: Dialect) -> PartOut:
    if role == "assistant":
        if part.kind == "text":
            kind = "text" if dialect is Dialect.BETA else "output_text"
            return PartOut(type=kind, text=part.text or "")
        kind = "audio" if dialect is Dialect.BETA else "output_audio"
        return PartOut(type=kind, transcript=part.transcript)
    if part.kind == "text":
        return PartOut(type="input_text", text=part.text or "")
    return PartOut(type="input_audio", transcript=part.transcript)


def render_item(item: ConvItem, dialect: Dialect) -> AnyItemOut:
    if item.type.startswith("mcp_"):
        return render_mcp_item(item)
    if item.type == "message":
        return ItemOut(
            id=item.id,
            type="message",
            status=item.status,
            role=item.role or "user",
            content=[_part(p, item.role, dialect) for p in item.parts],
        )
    if item.type == "function_call":
        return ItemOut(
            id=item.id,
            type="function_call",
            status=item.status,
            call_id=item.call_id or "",
            name=item.name or "",
            arguments=item.arguments or "",
        )
    return ItemOut(
        id=item.id,
        type="function_call_output",
        status=item.status,
        call_id=item.call_id or "",
        output=item.output or "",
    )


def render_mcp_item(item: ConvItem) -> AnyItemOut:
    label = item.server_label or ""
    if item.type == "mcp_list_tools":
        tools = [
            McpToolOut(
                name=t.name,
                input_schema=t.input_schema,
                description=t.description or None,
                annotations=t.annotations,
            )
            for t in item.tools
        ]
        return McpListToolsOut(id=item.id, server_label=label, tools=tools)
    if item.type == "mcp_approval_request":
        return McpApprovalRequestOut(
            id=item.id, server_label=label, name=item.name or "", arguments=item.arguments or ""
        )
    if item.type == "mcp_approval_response":
        return McpApprovalResponseOut(
            id=item.id,
            approval_request_id=item.approval_request_id or "",
            approve=bool(item.approve),
            reason=item.reason,
        )
    error = item.error
    return McpCallOut(
        id=item.id,
        server_label=label,
        name=item.name or "",
        arguments=item.arguments or "",
        approval_request_id=item.approval_request_id,
        output=item.output,
        error=None
        if error is None
        else McpErrorOut(
            type=error.type,
            code=UNSET if error.code is None else error.code,
            message=error.message,
        ),
    )


def content_part(part: Part) -> PartOut:
    """The ``part`` of response.content_part.added/done: "text" or "audio" in both dialects."""
    if part.kind == "text":
        return PartOut(type="text", text=part.text or "")
    return PartOut(type="audio", transcript=part.transcript or "")


def render_limits(event: n.RateLimits) -> list[RateLimitOut]:
    return [
        RateLimitOut(
            name=r.name, limit=r.limit, remaining=r.remaining, reset_seconds=r.reset_seconds
        )
        for r in event.limits
    ]
