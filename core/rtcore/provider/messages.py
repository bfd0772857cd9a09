"""The messages between the core and a provider: configuration, items, commands, events.

A provider never sees OpenAI JSON and never builds it: the core turns client events into the
commands below and turns the events below into OpenAI server events, in either dialect.

Audio crossing this boundary is mono, in the encoding and at the rate the core negotiated
with the provider (``SessionConfig.input_encoding`` / ``input_sample_rate`` and the
output's): PCM16, or a client's G.711 as it is for a provider that takes it; format
conversion for the client happens in the core.

Identity: whoever starts a thing names it, and both sides use that name from then on.

- Items: the core names the items clients create and the user item of a commit; the provider
  names a spoken user turn its own turn detection found (``SpeechStarted.item_id``). The core
  tells the provider of every item that joins the conversation (``AddItem``), changes
  (``UpdateItem``, ``TruncateItem``) or leaves it (``DeleteItem``): the conversation is the
  core's, and a provider that needs history renders it from ``rtcore.kit.ConversationMirror``.
- Responses: the core names the responses it asks for (``CreateResponse.response_id``); the
  provider names one it starts itself and announces it (``ResponseStarted``) before any of its
  output. Every response event names its response, and every response ends with exactly one
  ``ResponseDone`` for its id, however it ends. Output of a response the core has closed is
  dropped by the core; cancelling an id the provider does not know is a no-op.
"""

from __future__ import annotations

from typing import Literal

import msgspec

import rtcore.provider.remote_tools as rt
from rtcore.provider.rate_limits import RateLimit as RateLimit
from rtcore.provider.rate_limits import RateLimits as RateLimits

Role = Literal["user", "assistant", "system"]
Modality = Literal["text", "audio"]
ResponseStatus = Literal["completed", "cancelled", "incomplete", "failed"]
# Where an item came from: a client event, the user's audio (a commit or a spoken turn the
# model heard), or the model's own output. A model has already seen the last two.
ItemSource = Literal["client", "audio", "model"]
# 16-bit little-endian PCM, or G.711 µ-law / A-law (a byte a sample, 8 kHz): rtcore.audio's.
AudioEncoding = Literal["pcm16", "g711_ulaw", "g711_alaw"]


# -- configuration ---------------------------------------------------------------------------


class ToolDef(msgspec.Struct, frozen=True, kw_only=True):
    """A function the model may call; ``parameters`` is a JSON Schema object."""

    name: str
    description: str = ""
    parameters: dict[str, object] = msgspec.field(default_factory=dict)


class TurnDetection(msgspec.Struct, frozen=True, kw_only=True):
    """Server-side turn detection as the client asked for it.

    ``eagerness`` is the semantic-VAD knob ("low" | "medium" | "high" | "auto"); providers
    map whichever of these they understand onto their own setting.
    """

    type: Literal["server_vad", "semantic_vad"] = "server_vad"
    threshold: float | None = None
    silence_duration_ms: int | None = None
    prefix_padding_ms: int | None = None
    eagerness: str | None = None
    create_response: bool = True
    interrupt_response: bool = True
    # Kept by the core (session/idle.py); providers need not look at it.
    idle_timeout_ms: int | None = None


class Transcription(msgspec.Struct, frozen=True, kw_only=True):
    """Transcription of the user's audio as the client asked for it: the vendor's model
    name (None: the provider's own choice), the language (ISO-639-1) and a prompt to
    guide it."""

    model: str | None = None
    language: str | None = None
    prompt: str | None = None


class Truncation(msgspec.Struct, frozen=True, kw_only=True):
    """How the model's context is cut when it fills: ``"auto"``, ``"disabled"``, or
    ``"retention_ratio"`` (keep that fraction of the context after a cut)."""

    type: Literal["auto", "disabled", "retention_ratio"] = "auto"
    retention_ratio: float | None = None


class PromptRef(msgspec.Struct, frozen=True, kw_only=True):
    """A stored prompt the vendor keeps (OpenAI's prompt objects), by id, with its
    version and the values of its variables."""

    id: str
    version: str | None = None
    variables: dict[str, object] = msgspec.field(default_factory=dict)


# The SessionConfig fields a provider applies only when it names them in
# ``Capabilities.session_options``; for any other provider they stay at their defaults
# (the client's setting is accepted and shown as not applied).
SESSION_OPTIONS = frozenset(
    {
        "transcription",
        "noise_reduction",
        "speed",
        "reasoning_effort",
        "truncation",
        "parallel_tool_calls",
        "prompt",
        "custom_voice",
    }
)


class SessionConfig(msgspec.Struct, frozen=True, kw_only=True):
    """The effective session configuration, in neutral terms.

    ``turn_detection`` None means the client commits audio itself.
    ``max_output_tokens`` None means no limit ("inf").

    ``input_encoding`` / ``output_encoding`` are ``"pcm16"`` unless the client speaks a G.711
    encoding the provider passes through (``Capabilities.passthrough_encodings``): then the
    audio crosses as the client's bytes, at 8 kHz.

    The fields after ``output_encoding`` are ``SESSION_OPTIONS``: set only for a
    provider that declares them (``Capabilities.session_options``). ``custom_voice``:
    ``voice`` is the id of a voice the vendor made for the client, not one of its names.
    """

    model: str
    # The core's id of the client session (sess_...), for the provider's log lines.
    session_id: str = ""
    instructions: str = ""
    # tool_choice: "auto" | "none" | "required" | "function:<name>"
    voice: str | None = None
    output_modalities: tuple[Modality, ...] = ("audio",)
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    tools: tuple[ToolDef, ...] = ()
    tool_choice: str = "auto"
    turn_detection: TurnDetection | None = TurnDetection()
    input_sample_rate: int = 16000
    output_sample_rate: int = 24000
    input_encoding: AudioEncoding = "pcm16"
    output_encoding: AudioEncoding = "pcm16"
    transcription: Transcription | None = None
    noise_reduction: Literal["near_field", "far_field"] | None = None
    speed: float | None = None
    reasoning_effort: str | None = None
    truncation: Truncation | None = None
    parallel_tool_calls: bool | None = None
    prompt: PromptRef | None = None
    custom_voice: bool = False
    mcp_servers: tuple[rt.RemoteMcpServer, ...] = ()  # for Capabilities.remote_mcp


class ResponseOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Per-response overrides from ``response.create``; None means use the session's."""

    output_modalities: tuple[Modality, ...] | None = None
    instructions: str | None = None
    voice: str | None = None
    temperature: float | None = None
    max_output_tokens: int | None = None
    tools: tuple[ToolDef, ...] | None = None
    tool_choice: str | None = None
    reasoning_effort: str | None = None
    parallel_tool_calls: bool | None = None
    prompt: PromptRef | None = None


# -- conversation items ----------------------------------------------------------------------


class Message(msgspec.Struct, frozen=True, kw_only=True, tag="message"):
    """A message item; ``text`` is its text or the transcript of its audio (may be None
    while a user's audio has not been transcribed)."""

    id: str
    role: Role
    text: str | None = None
    has_audio: bool = False


class FunctionCall(msgspec.Struct, frozen=True, kw_only=True, tag="function_call"):
    id: str
    call_id: str
    name: str
    arguments: str


class FunctionCallOutput(msgspec.Struct, frozen=True, kw_only=True, tag="function_call_output"):
    id: str
    call_id: str
    output: str


Item = Message | FunctionCall | FunctionCallOutput


# -- commands: core -> provider --------------------------------------------------------------


class Configure(msgspec.Struct, frozen=True, kw_only=True, tag="configure"):
    """The session configuration changed. (The first configuration comes with
    ``Provider.open_session``; clients usually reconfigure right away, so a provider may
    defer opening its upstream stream until a command needs it.)

    ``changed`` names the ``SessionConfig`` fields that differ from the previous one, so a
    provider can tell whether it must restart its upstream stream.
    """

    config: SessionConfig
    changed: frozenset[str] = frozenset()


class AppendAudio(msgspec.Struct, frozen=True, kw_only=True, tag="append_audio"):
    """Input audio, in the session's ``input_encoding`` at its ``input_sample_rate``."""

    pcm: bytes


class CommitAudio(msgspec.Struct, frozen=True, kw_only=True, tag="commit_audio"):
    """The client committed its audio buffer (manual turn taking): the audio since the last
    commit is the user item ``item_id``, which an ``AddItem`` announces right after."""

    item_id: str


class ClearAudio(msgspec.Struct, frozen=True, kw_only=True, tag="clear_audio"):
    pass


class AddItem(msgspec.Struct, frozen=True, kw_only=True, tag="add_item"):
    """``item`` joined the conversation after ``previous_item_id`` (None: at the start)."""

    item: Item
    previous_item_id: str | None = None
    source: ItemSource = "client"


class UpdateItem(msgspec.Struct, frozen=True, kw_only=True, tag="update_item"):
    """An item's content changed (a spoken turn's transcript arrived): ``item`` replaces
    the item of the same id."""

    item: Item


class DeleteItem(msgspec.Struct, frozen=True, kw_only=True, tag="delete_item"):
    item_id: str


class TruncateItem(msgspec.Struct, frozen=True, kw_only=True, tag="truncate_item"):
    """The client played only ``audio_end_ms`` of an assistant item; ``text`` is the item's
    transcript cut to roughly what was heard, so the provider's history can match.

    ``streaming_in`` names the response when the item was still streaming: the core sends
    the client nothing more of that item (the response itself goes on), so a provider that
    can stop producing it early may."""

    item_id: str
    audio_end_ms: int
    text: str
    streaming_in: str | None = None


class CreateResponse(msgspec.Struct, frozen=True, kw_only=True, tag="create_response"):
    """Generate response ``response_id`` now, from the conversation so far.

    ``conversation`` False is an out-of-band response: its output never joins the
    conversation (the core adds no item for it), so no later history may contain it.
    """

    response_id: str
    options: ResponseOptions = ResponseOptions()
    conversation: bool = True


class CancelResponse(msgspec.Struct, frozen=True, kw_only=True, tag="cancel_response"):
    """Stop response ``response_id``; an id that is not active is ignored."""

    response_id: str


Command = (
    Configure
    | AppendAudio
    | CommitAudio
    | ClearAudio
    | AddItem
    | UpdateItem
    | DeleteItem
    | TruncateItem
    | CreateResponse
    | CancelResponse
    | rt.AnswerApproval
)


# -- events: provider -> core ----------------------------------------------------------------


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """Tokens as the model reports them. ``cached_tokens`` are input tokens the vendor
    served from its cache (counted in the input counts too, and usually billed at a lower
    rate); ``cached_audio_tokens`` are the audio ones among them."""

    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    output_text_tokens: int = 0
    output_audio_tokens: int = 0
    cached_tokens: int = 0
    cached_audio_tokens: int = 0

    @property
    def input_tokens(self) -> int:
        return self.input_text_tokens + self.input_audio_tokens

    @property
    def output_tokens(self) -> int:
        return self.output_text_tokens + self.output_audio_tokens


class SpeechStarted(msgspec.Struct, frozen=True, kw_only=True, tag="speech_started"):
    """The provider heard the user start speaking, ``audio_start_ms`` into the session's
    input audio; ``item_id`` (``rtcore.kit.new_item_id``) names the user turn from now on."""

    item_id: str
    audio_start_ms: int


class SpeechStopped(msgspec.Struct, frozen=True, kw_only=True, tag="speech_stopped"):
    """The spoken turn ``item_id`` ended: the core commits it as a user item."""

    item_id: str
    audio_end_ms: int


class TranscriptError(msgspec.Struct, frozen=True, kw_only=True):
    """Why the upstream could not transcribe a user turn."""

    code: str
    message: str


class InputTranscript(msgspec.Struct, frozen=True, kw_only=True, tag="input_transcript"):
    """Transcript of the user turn ``item_id`` (a spoken turn or a commit); ``final``
    closes it. A final one with ``error`` says the turn has no transcript, and why (the
    model may still have heard it)."""

    item_id: str
    text: str
    final: bool = True
    error: TranscriptError | None = None


class ResponseStarted(msgspec.Struct, frozen=True, kw_only=True, tag="response_started"):
    """The provider began response ``response_id`` on its own (after its turn detection);
    ``rtcore.kit.new_response_id`` makes the id."""

    response_id: str


class TextDelta(msgspec.Struct, frozen=True, kw_only=True, tag="text_delta"):
    """Text output in a text-modality response."""

    response_id: str
    text: str


class AudioDelta(msgspec.Struct, frozen=True, kw_only=True, tag="audio_delta"):
    """Output audio, in the session's ``output_encoding`` at its ``output_sample_rate``."""

    response_id: str
    pcm: bytes


class TranscriptDelta(msgspec.Struct, frozen=True, kw_only=True, tag="transcript_delta"):
    """Transcript of the response's audio output."""

    response_id: str
    text: str


class ToolCall(msgspec.Struct, frozen=True, kw_only=True, tag="tool_call"):
    """The model calls a function; ``arguments`` is a JSON object as a string."""

    response_id: str
    call_id: str
    name: str
    arguments: str


class ResponseError(msgspec.Struct, frozen=True, kw_only=True):
    """Why a response failed: a short snake_case ``code`` and what to do about it."""

    code: str
    message: str


class ResponseDone(msgspec.Struct, frozen=True, kw_only=True, tag="response_done"):
    """``reason`` follows OpenAI's status_details.reason: "turn_detected",
    "client_cancelled", "max_output_tokens", "content_filter" or None; a failed response
    says why in ``error``."""

    response_id: str
    status: ResponseStatus = "completed"
    reason: str | None = None
    usage: Usage = Usage()
    error: ResponseError | None = None


class ProviderError(msgspec.Struct, frozen=True, kw_only=True, tag="provider_error"):
    """Something went wrong upstream. ``code`` is a short snake_case identifier; the
    message tells the user what to do. ``fatal`` ends the session."""

    code: str
    message: str
    fatal: bool = False
    param: str | None = None


Event = (
    SpeechStarted
    | SpeechStopped
    | InputTranscript
    | ResponseStarted
    | TextDelta
    | AudioDelta
    | TranscriptDelta
    | ToolCall
    | ResponseDone
    | ProviderError
    | RateLimits
    | rt.RemoteToolsListed
    | rt.RemoteToolCall
    | rt.RemoteApprovalRequest
)
