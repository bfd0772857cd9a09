"""Objects inside server events (items, responses, usage), as clients expect them.

Fields that do not apply stay ``UNSET`` and are left out of the JSON; fields strict clients
require (``content: []`` on assistant items, ``object``) are always present.
"""

from __future__ import annotations

from msgspec import UNSET, Struct, UnsetType, field


class Out(Struct, kw_only=True):
    pass


class PartOut(Out, kw_only=True):
    type: str
    text: str | UnsetType = UNSET
    transcript: str | UnsetType | None = UNSET
    audio: str | UnsetType = UNSET


class ItemOut(Out, kw_only=True):
    id: str
    object: str = "realtime.item"
    type: str
    status: str | UnsetType = UNSET
    role: str | UnsetType = UNSET
    content: list[PartOut] | UnsetType = UNSET
    call_id: str | UnsetType = UNSET
    name: str | UnsetType = UNSET
    arguments: str | UnsetType = UNSET
    output: str | UnsetType = UNSET


class McpErrorOut(Out, kw_only=True):
    """Why an MCP call failed: ``http_error`` and ``protocol_error`` carry a code,
    ``tool_execution_error`` only its message."""

    type: str
    code: int | UnsetType = UNSET
    message: str


class McpToolOut(Out, kw_only=True):
    name: str
    input_schema: dict[str, object]
    description: str | None = None
    annotations: dict[str, object] | None = None


class McpListToolsOut(Out, kw_only=True):
    """The tools a session's MCP server offers (MCP items carry no ``object``/``status``)."""

    id: str
    type: str = "mcp_list_tools"
    server_label: str
    tools: list[McpToolOut]


class McpCallOut(Out, kw_only=True):
    id: str
    type: str = "mcp_call"
    server_label: str
    name: str
    arguments: str
    approval_request_id: str | None = None
    output: str | None = None
    error: McpErrorOut | None = None


class McpApprovalRequestOut(Out, kw_only=True):
    id: str
    type: str = "mcp_approval_request"
    server_label: str
    name: str
    arguments: str


class McpApprovalResponseOut(Out, kw_only=True):
    id: str
    type: str = "mcp_approval_response"
    approval_request_id: str
    approve: bool
    reason: str | None = None


AnyItemOut = ItemOut | McpListToolsOut | McpCallOut | McpApprovalRequestOut | McpApprovalResponseOut


class CachedTokenDetails(Out, kw_only=True):
    text_tokens: int = 0
    audio_tokens: int = 0
    image_tokens: int = 0


class InputTokenDetails(Struct, kw_only=True):
    text_tokens: int = 0
    audio_tokens: int = 0
    image_tokens: int = 0
    cached_tokens: int = 0
    cached_tokens_details: CachedTokenDetails = field(default_factory=CachedTokenDetails)


class OutputTokenDetails(Struct, kw_only=True):
    text_tokens: int = 0
    audio_tokens: int = 0


class UsageOut(Struct, kw_only=True):
    total_tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    input_token_details: InputTokenDetails = field(default_factory=InputTokenDetails)
    output_token_details: OutputTokenDetails = field(default_factory=OutputTokenDetails)


class StatusErrorOut(Out, kw_only=True):
    type: str
    code: str | UnsetType = UNSET
    message: str | UnsetType = UNSET


class StatusDetailsOut(Out, kw_only=True):
    type: str
    reason: str | UnsetType = UNSET
    error: StatusErrorOut | UnsetType = UNSET


class ResponseAudioOutputOut(Out, kw_only=True):
    format: object | UnsetType = UNSET
    voice: str | UnsetType = UNSET


class ResponseAudioOut(Out, kw_only=True):
    output: ResponseAudioOutputOut


class ResponseOut(Out, kw_only=True):
    id: str
    object: str = "realtime.response"
    status: str
    status_details: StatusDetailsOut | None = None
    output: list[AnyItemOut]
    conversation_id: str | None = None
    usage: UsageOut | None = None
    metadata: dict[str, str] | None = None
    # beta
    modalities: list[str] | UnsetType = UNSET
    voice: str | UnsetType = UNSET
    output_audio_format: str | UnsetType = UNSET
    temperature: float | UnsetType = UNSET
    # both (int or "inf")
    max_output_tokens: int | str | UnsetType = UNSET
    # GA
    output_modalities: list[str] | UnsetType = UNSET
    audio: ResponseAudioOut | UnsetType = UNSET


class ErrorOut(Struct, kw_only=True):
    type: str
    code: str | None = None
    message: str
    param: str | None = None
    event_id: str | None = None


class TranscriptionUsageOut(Struct, kw_only=True):
    """The duration form: rtcore's providers transcribe as part of the model."""

    type: str = "duration"
    seconds: float = 0.0


class RateLimitOut(Struct, kw_only=True):
    name: str
    limit: int
    remaining: int
    reset_seconds: float
