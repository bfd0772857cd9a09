"""Nova Sonic's wire events as typed structs.

Every event is one JSON document ``{"event": {NAME: {...}}}``. Input events are encoded
with one shared encoder; output events are decoded once into ``OutputEvent``, whose one
non-None member says which event arrived. Audio fields are ``bytes`` so msgspec does the
base64 work in C.
"""

from __future__ import annotations

from typing import Literal

import msgspec

# -- input (rtcore -> Nova) ------------------------------------------------------------------
# ``omit_defaults`` drops the None members, so every field that must reach the wire has no
# default at all: nothing is left to the service's defaults by accident.


class _In(msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True):
    pass


class InferenceConfiguration(_In, frozen=True, kw_only=True):
    # Required so the values are always written, never left to the service's defaults.
    max_tokens: int
    top_p: float
    temperature: float


class TurnDetectionConfiguration(_In, frozen=True, kw_only=True):
    endpointing_sensitivity: Literal["HIGH", "MEDIUM", "LOW"]


class SessionStart(_In, frozen=True, kw_only=True):
    # Required (no default) so that omit_defaults always writes it.
    inference_configuration: InferenceConfiguration
    turn_detection_configuration: TurnDetectionConfiguration | None = None


class MediaType(_In, frozen=True, kw_only=True):
    media_type: str


class AudioConfiguration(_In, frozen=True, kw_only=True):
    media_type: str
    sample_rate_hertz: int
    sample_size_bits: int
    channel_count: int
    voice_id: str | None = None
    encoding: str
    audio_type: str


def lpcm(rate: int, voice: str | None = None) -> AudioConfiguration:
    return AudioConfiguration(
        media_type="audio/lpcm",
        sample_rate_hertz=rate,
        sample_size_bits=16,
        channel_count=1,
        voice_id=voice,
        encoding="base64",
        audio_type="SPEECH",
    )


TEXT_PLAIN = MediaType(media_type="text/plain")
APPLICATION_JSON = MediaType(media_type="application/json")


class InputSchema(_In, frozen=True, kw_only=True):
    json: str


class ToolSpec(_In, frozen=True, kw_only=True):
    name: str
    description: str
    input_schema: InputSchema


class Tool(_In, frozen=True, kw_only=True):
    tool_spec: ToolSpec


class ToolConfiguration(_In, frozen=True, kw_only=True):
    tools: tuple[Tool, ...]
    tool_choice: dict[str, object] | None = None


class PromptStart(_In, frozen=True, kw_only=True):
    prompt_name: str
    text_output_configuration: MediaType
    audio_output_configuration: AudioConfiguration
    tool_use_output_configuration: MediaType | None = None
    tool_configuration: ToolConfiguration | None = None


class ToolResultInputConfiguration(_In, frozen=True, kw_only=True):
    tool_use_id: str
    type: str
    text_input_configuration: MediaType


InputRole = Literal["SYSTEM", "USER", "ASSISTANT", "TOOL", "SYSTEM_SPEECH"]


class ContentStart(_In, frozen=True, kw_only=True):
    prompt_name: str
    content_name: str
    type: Literal["TEXT", "AUDIO", "TOOL"]
    # No default, so it is always written: it tells live input from context.
    interactive: bool
    role: InputRole
    text_input_configuration: MediaType | None = None
    audio_input_configuration: AudioConfiguration | None = None
    tool_result_input_configuration: ToolResultInputConfiguration | None = None


class TextInput(_In, frozen=True, kw_only=True):
    prompt_name: str
    content_name: str
    content: str


class AudioInput(_In, frozen=True, kw_only=True):
    prompt_name: str
    content_name: str
    content: bytes


class ToolResult(_In, frozen=True, kw_only=True):
    prompt_name: str
    content_name: str
    content: str


class ContentEnd(_In, frozen=True, kw_only=True):
    prompt_name: str
    content_name: str


class PromptEnd(_In, frozen=True, kw_only=True):
    prompt_name: str


class SessionEnd(_In, frozen=True, kw_only=True):
    pass


class InputEvent(_In, frozen=True, kw_only=True):
    session_start: SessionStart | None = None
    prompt_start: PromptStart | None = None
    content_start: ContentStart | None = None
    text_input: TextInput | None = None
    audio_input: AudioInput | None = None
    tool_result: ToolResult | None = None
    content_end: ContentEnd | None = None
    prompt_end: PromptEnd | None = None
    session_end: SessionEnd | None = None


class InputEnvelope(_In, frozen=True, kw_only=True):
    event: InputEvent


_encoder = msgspec.json.Encoder()


def encode(event: InputEvent) -> bytes:
    return _encoder.encode(InputEnvelope(event=event))


# -- output (Nova -> rtcore) -----------------------------------------------------------------


class _Out(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    session_id: str = ""
    prompt_name: str = ""
    completion_id: str = ""


class CompletionStart(_Out, frozen=True, kw_only=True):
    pass


class OutContentStart(_Out, frozen=True, kw_only=True):
    content_id: str = ""
    type: str = "TEXT"
    role: str = ""
    # A JSON string such as '{"generationStage":"SPECULATIVE"}'.
    additional_model_fields: str | None = None


class TextOutput(_Out, frozen=True, kw_only=True):
    content_id: str = ""
    content: str = ""
    role: str | None = None


class AudioOutput(_Out, frozen=True, kw_only=True):
    content_id: str = ""
    content: bytes = b""


class ToolUse(_Out, frozen=True, kw_only=True):
    content_id: str = ""
    tool_name: str = ""
    tool_use_id: str = ""
    content: str = ""


class OutContentEnd(_Out, frozen=True, kw_only=True):
    content_id: str = ""
    type: str = ""
    stop_reason: str = ""


class CompletionEnd(_Out, frozen=True, kw_only=True):
    stop_reason: str = ""


class TokenCounts(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    speech_tokens: int = 0
    text_tokens: int = 0


class UsageSide(msgspec.Struct, frozen=True, kw_only=True):
    input: TokenCounts = TokenCounts()
    output: TokenCounts = TokenCounts()


class UsageDetails(msgspec.Struct, frozen=True, kw_only=True):
    delta: UsageSide | None = None
    total: UsageSide | None = None


class UsageEvent(_Out, frozen=True, kw_only=True):
    details: UsageDetails = UsageDetails()
    total_input_tokens: int = 0
    total_output_tokens: int = 0
    total_tokens: int = 0


class UserSpeech(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Nova 2's ``userSpeechStart`` / ``userSpeechEnd``: it heard the user start or stop
    speaking, ``input_audio_offset_ms`` into the stream's audio."""

    input_audio_offset_ms: int = 0


class OutputEvent(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    completion_start: CompletionStart | None = None
    user_speech_start: UserSpeech | None = None
    user_speech_end: UserSpeech | None = None
    content_start: OutContentStart | None = None
    text_output: TextOutput | None = None
    audio_output: AudioOutput | None = None
    tool_use: ToolUse | None = None
    content_end: OutContentEnd | None = None
    completion_end: CompletionEnd | None = None
    usage_event: UsageEvent | None = None


class OutputEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    event: OutputEvent = OutputEvent()


_decoder = msgspec.json.Decoder(OutputEnvelope)


def decode(data: bytes) -> OutputEvent:
    """Decode one output chunk; raises ``msgspec.DecodeError`` on malformed input."""
    return _decoder.decode(data).event
