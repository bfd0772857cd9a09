"""Server events: GA wire names as the base classes, beta names as subclasses.

A beta subclass only changes the tag (msgspec writes it as ``type``), so the session builds
events through a ``Vocabulary`` and never converts them afterwards.
"""

from __future__ import annotations

from msgspec import UNSET, Struct, UnsetType, field

from rtcore.protocol.objects import (
    AnyItemOut,
    ErrorOut,
    PartOut,
    RateLimitOut,
    ResponseOut,
    TranscriptionUsageOut,
)


class ServerEvent(Struct, kw_only=True, tag_field="type"):
    event_id: str


class Error(ServerEvent, tag="error", kw_only=True):
    error: ErrorOut


class SessionCreated(ServerEvent, tag="session.created", kw_only=True):
    session: Struct


class SessionUpdated(ServerEvent, tag="session.updated", kw_only=True):
    session: Struct


class ConversationRef(Struct, kw_only=True):
    id: str
    object: str = "realtime.conversation"


class ConversationCreated(ServerEvent, tag="conversation.created", kw_only=True):
    conversation: ConversationRef


class ConversationItemAdded(ServerEvent, tag="conversation.item.added", kw_only=True):
    previous_item_id: str | None
    item: AnyItemOut


class ConversationItemCreated(ConversationItemAdded, tag="conversation.item.created", kw_only=True):
    """Beta's single notice for a new item."""


class ConversationItemDone(ServerEvent, tag="conversation.item.done", kw_only=True):
    previous_item_id: str | None
    item: AnyItemOut


class ConversationItemRetrieved(ServerEvent, tag="conversation.item.retrieved", kw_only=True):
    item: AnyItemOut


class ConversationItemDeleted(ServerEvent, tag="conversation.item.deleted", kw_only=True):
    item_id: str


class ConversationItemTruncated(ServerEvent, tag="conversation.item.truncated", kw_only=True):
    item_id: str
    content_index: int
    audio_end_ms: int


class TranscriptionDelta(
    ServerEvent, tag="conversation.item.input_audio_transcription.delta", kw_only=True
):
    item_id: str
    content_index: int = 0
    delta: str


class TranscriptionCompleted(
    ServerEvent, tag="conversation.item.input_audio_transcription.completed", kw_only=True
):
    item_id: str
    content_index: int = 0
    transcript: str
    usage: TranscriptionUsageOut = field(default_factory=TranscriptionUsageOut)


class TranscriptionFailed(
    ServerEvent, tag="conversation.item.input_audio_transcription.failed", kw_only=True
):
    item_id: str
    content_index: int = 0
    error: ErrorOut


class InputAudioBufferCommitted(ServerEvent, tag="input_audio_buffer.committed", kw_only=True):
    previous_item_id: str | None
    item_id: str


class InputAudioBufferTimeoutTriggered(
    ServerEvent, tag="input_audio_buffer.timeout_triggered", kw_only=True
):
    audio_start_ms: int
    audio_end_ms: int
    item_id: str


class InputAudioBufferCleared(ServerEvent, tag="input_audio_buffer.cleared", kw_only=True):
    pass


class SpeechStarted(ServerEvent, tag="input_audio_buffer.speech_started", kw_only=True):
    audio_start_ms: int
    item_id: str


class SpeechStopped(ServerEvent, tag="input_audio_buffer.speech_stopped", kw_only=True):
    audio_end_ms: int
    item_id: str


class ResponseCreated(ServerEvent, tag="response.created", kw_only=True):
    response: ResponseOut


class ResponseDone(ServerEvent, tag="response.done", kw_only=True):
    response: ResponseOut


class OutputItemAdded(ServerEvent, tag="response.output_item.added", kw_only=True):
    response_id: str
    output_index: int
    item: AnyItemOut


class OutputItemDone(ServerEvent, tag="response.output_item.done", kw_only=True):
    response_id: str
    output_index: int
    item: AnyItemOut


class _PartEvent(ServerEvent, kw_only=True):
    response_id: str
    item_id: str
    output_index: int
    content_index: int


class ContentPartAdded(_PartEvent, tag="response.content_part.added", kw_only=True):
    part: PartOut


class ContentPartDone(_PartEvent, tag="response.content_part.done", kw_only=True):
    part: PartOut


class OutputTextDelta(_PartEvent, tag="response.output_text.delta", kw_only=True):
    delta: str


class OutputTextDone(_PartEvent, tag="response.output_text.done", kw_only=True):
    text: str


class OutputAudioDelta(_PartEvent, tag="response.output_audio.delta", kw_only=True):
    delta: bytes


class OutputAudioDone(_PartEvent, tag="response.output_audio.done", kw_only=True):
    pass


class OutputAudioTranscriptDelta(
    _PartEvent, tag="response.output_audio_transcript.delta", kw_only=True
):
    delta: str


class OutputAudioTranscriptDone(
    _PartEvent, tag="response.output_audio_transcript.done", kw_only=True
):
    transcript: str


class FunctionCallArgumentsDelta(
    ServerEvent, tag="response.function_call_arguments.delta", kw_only=True
):
    response_id: str
    item_id: str
    output_index: int
    call_id: str
    delta: str


class FunctionCallArgumentsDone(
    ServerEvent, tag="response.function_call_arguments.done", kw_only=True
):
    response_id: str
    item_id: str
    output_index: int
    call_id: str
    name: str
    arguments: str


class RateLimitsUpdated(ServerEvent, tag="rate_limits.updated", kw_only=True):
    rate_limits: list[RateLimitOut]


class OutputAudioBufferStarted(ServerEvent, tag="output_audio_buffer.started", kw_only=True):
    response_id: str


class OutputAudioBufferStopped(ServerEvent, tag="output_audio_buffer.stopped", kw_only=True):
    response_id: str


class OutputAudioBufferCleared(ServerEvent, tag="output_audio_buffer.cleared", kw_only=True):
    response_id: str | UnsetType = UNSET


# -- MCP (GA only) -------------------------------------------------------------------------------


class McpListToolsInProgress(ServerEvent, tag="mcp_list_tools.in_progress", kw_only=True):
    item_id: str


class McpListToolsCompleted(ServerEvent, tag="mcp_list_tools.completed", kw_only=True):
    item_id: str


class McpListToolsFailed(ServerEvent, tag="mcp_list_tools.failed", kw_only=True):
    item_id: str


class McpCallArgumentsDelta(ServerEvent, tag="response.mcp_call_arguments.delta", kw_only=True):
    response_id: str
    item_id: str
    output_index: int
    delta: str


class McpCallArgumentsDone(ServerEvent, tag="response.mcp_call_arguments.done", kw_only=True):
    response_id: str
    item_id: str
    output_index: int
    arguments: str


class McpCallInProgress(ServerEvent, tag="response.mcp_call.in_progress", kw_only=True):
    item_id: str
    output_index: int


class McpCallCompleted(ServerEvent, tag="response.mcp_call.completed", kw_only=True):
    item_id: str
    output_index: int


class McpCallFailed(ServerEvent, tag="response.mcp_call.failed", kw_only=True):
    item_id: str
    output_index: int


# -- beta names --------------------------------------------------------------------------------


class BetaTextDelta(OutputTextDelta, tag="response.text.delta", kw_only=True):
    pass


class BetaTextDone(OutputTextDone, tag="response.text.done", kw_only=True):
    pass


class BetaAudioDelta(OutputAudioDelta, tag="response.audio.delta", kw_only=True):
    pass


class BetaAudioDone(OutputAudioDone, tag="response.audio.done", kw_only=True):
    pass


class BetaAudioTranscriptDelta(
    OutputAudioTranscriptDelta, tag="response.audio_transcript.delta", kw_only=True
):
    pass


class BetaAudioTranscriptDone(
    OutputAudioTranscriptDone, tag="response.audio_transcript.done", kw_only=True
):
    pass
