"""Objects nested inside client events, as clients send them.

Each accepts the union of the beta and GA shapes, so one decoder serves every connection;
``rtcore.session.config`` normalises them. Fields default to ``UNSET`` so an omitted field
differs from an explicit ``null`` (``turn_detection: null`` turns server VAD off).
Unknown fields are refused (``unknown_parameter``), as the OpenAI service does.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    pass


class FunctionSpec(Strict):
    name: str
    description: str | UnsetType = UNSET
    parameters: dict[str, object] | UnsetType = UNSET
    strict: bool | UnsetType = UNSET


class McpToolFilterWire(Strict):
    """Which of an MCP server's tools a filter takes: by name, or those the server
    annotates read-only (``readOnlyHint``); both given, a tool must match both."""

    tool_names: list[str] | UnsetType | None = UNSET
    read_only: bool | UnsetType | None = UNSET


class McpApprovalFilterWire(Strict):
    always: McpToolFilterWire | UnsetType | None = UNSET
    never: McpToolFilterWire | UnsetType | None = UNSET


class ToolWire(Strict):
    """A tool in the flat Realtime shape (``name`` at the top) or the nested Chat
    Completions shape the seed uses (``function: {name, ...}``); or a remote MCP server
    (``type: "mcp"``), whose tools the gateway lists and runs itself (rtcore.mcp)."""

    type: str = "function"
    name: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    parameters: dict[str, object] | UnsetType = UNSET
    function: FunctionSpec | UnsetType = UNSET
    strict: bool | UnsetType = UNSET
    # type "mcp"
    server_label: str | UnsetType = UNSET
    server_url: str | UnsetType | None = UNSET
    connector_id: str | UnsetType | None = UNSET
    tunnel_id: str | UnsetType | None = UNSET
    server_description: str | UnsetType | None = UNSET
    headers: dict[str, str] | UnsetType | None = UNSET
    authorization: str | UnsetType | None = UNSET
    allowed_tools: list[str] | McpToolFilterWire | UnsetType | None = UNSET
    require_approval: str | McpApprovalFilterWire | UnsetType | None = UNSET


class ToolChoiceFunction(Strict):
    type: str = "function"
    name: str | UnsetType = UNSET
    function: FunctionSpec | UnsetType = UNSET


ToolChoiceWire = str | ToolChoiceFunction


class AudioFormatWire(Strict):
    """GA audio format: ``{"type": "audio/pcm", "rate": 24000}``, ``audio/pcmu``, ``audio/pcma``.

    ``rate`` beyond 24000 is an rtcore extension for clients that send other PCM rates.
    """

    type: str
    rate: int | UnsetType = UNSET


class TranscriptionWire(Strict):
    """Transcription settings. A provider that declares ``transcription`` among its
    session options takes model, language and prompt; for any other only on/off applies
    and the rest is accepted (current SDKs send it) and not applied, which
    ``session.updated`` shows by leaving it out (docs/protocol.md)."""

    model: str | UnsetType = UNSET
    language: str | UnsetType = UNSET
    prompt: str | UnsetType = UNSET
    delay: str | UnsetType = UNSET
    keywords: list[str] | UnsetType = UNSET
    languages: list[str] | UnsetType = UNSET


class TurnDetectionWire(Strict):
    type: Literal["server_vad", "semantic_vad"] = "server_vad"
    threshold: float | UnsetType = UNSET
    prefix_padding_ms: int | UnsetType = UNSET
    silence_duration_ms: int | UnsetType = UNSET
    create_response: bool | UnsetType = UNSET
    interrupt_response: bool | UnsetType = UNSET
    eagerness: str | UnsetType = UNSET
    idle_timeout_ms: int | UnsetType | None = UNSET


class NoiseReductionWire(Strict):
    type: str | UnsetType = UNSET
    strength: float | UnsetType = UNSET


class AudioInputWire(Strict):
    format: AudioFormatWire | UnsetType = UNSET
    transcription: TranscriptionWire | UnsetType | None = UNSET
    turn_detection: TurnDetectionWire | UnsetType | None = UNSET
    noise_reduction: NoiseReductionWire | UnsetType | None = UNSET


class VoiceIdWire(Strict):
    """A custom voice, by the id its vendor gave it (GA ``audio.output.voice: {id}``)."""

    id: str


class AudioOutputWire(Strict):
    format: AudioFormatWire | UnsetType = UNSET
    voice: str | VoiceIdWire | UnsetType = UNSET
    speed: float | UnsetType = UNSET


class AudioWire(Strict):
    input: AudioInputWire | UnsetType = UNSET
    output: AudioOutputWire | UnsetType = UNSET


MaxTokens = int | Literal["inf"]


class SessionWire(Strict):
    """``session`` of ``session.update``: beta fields, then GA fields, then rtcore's."""

    # both
    model: str | UnsetType = UNSET
    instructions: str | UnsetType = UNSET
    tools: list[ToolWire] | UnsetType = UNSET
    tool_choice: ToolChoiceWire | UnsetType = UNSET
    tracing: Any | UnsetType = UNSET
    # beta
    modalities: list[str] | UnsetType = UNSET
    voice: str | UnsetType = UNSET
    input_audio_format: str | UnsetType = UNSET
    output_audio_format: str | UnsetType = UNSET
    input_audio_transcription: TranscriptionWire | UnsetType | None = UNSET
    input_audio_noise_reduction: NoiseReductionWire | UnsetType | None = UNSET
    turn_detection: TurnDetectionWire | UnsetType | None = UNSET
    temperature: float | UnsetType = UNSET
    max_response_output_tokens: MaxTokens | UnsetType = UNSET
    speed: float | UnsetType = UNSET
    # GA
    type: Literal["realtime"] | UnsetType = UNSET
    object: str | UnsetType = UNSET
    id: str | UnsetType = UNSET
    output_modalities: list[str] | UnsetType = UNSET
    audio: AudioWire | UnsetType = UNSET
    max_output_tokens: MaxTokens | UnsetType = UNSET
    include: list[str] | UnsetType | None = UNSET
    prompt: Any | UnsetType = UNSET
    truncation: Any | UnsetType = UNSET
    parallel_tool_calls: bool | UnsetType = UNSET
    expires_at: int | UnsetType = UNSET
    # Applied for a provider that declares it (Capabilities.session_options), else
    # accepted and not applied; beta's client_secret is the server's to mint: see
    # docs/protocol.md.
    reasoning: Any | UnsetType = UNSET
    client_secret: Any | UnsetType = UNSET
    # rtcore extension, for providers with nucleus sampling (Nova Sonic's topP)
    top_p: float | UnsetType = UNSET


class ContentPartWire(Strict):
    """A content part of a client-created item. ``audio`` is base64 (decoded by msgspec)."""

    type: str
    text: str | UnsetType = UNSET
    audio: bytes | UnsetType = UNSET
    transcript: str | UnsetType | None = UNSET
    image_url: str | UnsetType = UNSET
    detail: str | UnsetType = UNSET
    id: str | UnsetType = UNSET  # beta SDKs model one; nothing refers to a part by it


class ItemWire(Strict, kw_only=True):
    id: str | UnsetType = UNSET
    type: Literal["message", "function_call", "function_call_output", "mcp_approval_response"]
    object: str | UnsetType = UNSET
    status: str | UnsetType = UNSET
    role: str | UnsetType = UNSET
    content: list[ContentPartWire] | UnsetType = UNSET
    call_id: str | UnsetType = UNSET
    name: str | UnsetType = UNSET
    arguments: str | UnsetType = UNSET
    output: str | UnsetType = UNSET
    # mcp_approval_response: the client's answer to an mcp_approval_request item
    approval_request_id: str | UnsetType = UNSET
    approve: bool | UnsetType = UNSET
    reason: str | UnsetType | None = UNSET


class ResponseAudioOutputWire(Strict):
    voice: str | UnsetType = UNSET
    format: AudioFormatWire | UnsetType = UNSET


class ResponseAudioWire(Strict):
    output: ResponseAudioOutputWire | UnsetType = UNSET


class ResponseParamsWire(Strict):
    """``response`` of ``response.create`` (overrides for this response only)."""

    instructions: str | UnsetType = UNSET
    tools: list[ToolWire] | UnsetType = UNSET
    tool_choice: ToolChoiceWire | UnsetType = UNSET
    conversation: str | UnsetType = UNSET
    metadata: dict[str, str] | UnsetType | None = UNSET
    input: list[object] | UnsetType = UNSET
    prompt: Any | UnsetType = UNSET
    parallel_tool_calls: bool | UnsetType = UNSET
    reasoning: Any | UnsetType = UNSET
    # beta
    modalities: list[str] | UnsetType = UNSET
    voice: str | UnsetType = UNSET
    output_audio_format: str | UnsetType = UNSET
    temperature: float | UnsetType = UNSET
    max_response_output_tokens: MaxTokens | UnsetType = UNSET
    # GA
    output_modalities: list[str] | UnsetType = UNSET
    audio: ResponseAudioWire | UnsetType = UNSET
    max_output_tokens: MaxTokens | UnsetType = UNSET
