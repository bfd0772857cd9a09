"""A connection's ``setup`` (the SDK's ``LiveConnectConfig``), built from the session's
configuration at the moment the connection opens, never before: a client's
``session.update`` right after connecting is what the first setup carries.

Gemini takes one setup per connection: a setting a live connection cannot take opens a
new one (resuming the session with its latest handle, or seeded with the conversation).
"""

from __future__ import annotations

from typing import Any

import msgspec

from rtcore.provider.messages import SessionConfig
from rtcore_gemini_live.models import ModelProfile, end_sensitivity, start_sensitivity
from rtcore_gemini_live.params import SessionOptions


class Setup(msgspec.Struct, frozen=True, kw_only=True):
    """What a connection opens with, beside the session's configuration."""

    voice: str
    # Resume the server's session (None: a fresh one).
    handle: str | None = None
    # The conversation comes as client content before anything else (a fresh session).
    seeded: bool = False
    instructions: str | None = None  # replaces the session's (an out-of-band reply's)
    side: bool = False  # a short-lived connection for one out-of-band reply


def connect_config(
    config: SessionConfig, profile: ModelProfile, options: SessionOptions, setup: Setup
) -> Any:
    from google.genai import types

    instructions = config.instructions if setup.instructions is None else setup.instructions
    speech = types.SpeechConfig(
        voice_config=types.VoiceConfig(
            prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=setup.voice)
        ),
        language_code=options.language,
    )
    live = types.LiveConnectConfig(
        # The native-audio models answer in audio only (TEXT hangs them): a text-only
        # reply is the output transcription, and its audio is dropped.
        response_modalities=[types.Modality.AUDIO],
        speech_config=speech,
        system_instruction=instructions or None,
        temperature=config.temperature,
        top_p=config.top_p,
        max_output_tokens=config.max_output_tokens,
        input_audio_transcription=types.AudioTranscriptionConfig(),
        output_audio_transcription=types.AudioTranscriptionConfig(),
    )
    if config.tools:
        behavior = types.Behavior(profile.tool_behavior) if profile.tool_behavior else None
        live.tools = [
            types.Tool(
                function_declarations=[
                    types.FunctionDeclaration(
                        name=tool.name,
                        description=tool.description or None,
                        parameters_json_schema=tool.parameters or {"type": "object"},
                        behavior=behavior,
                    )
                    for tool in config.tools
                ]
            )
        ]
    if setup.seeded:
        live.history_config = types.HistoryConfig(initial_history_in_client_content=True)
    if setup.side:
        return live
    live.realtime_input_config = _realtime_input(config)
    live.session_resumption = types.SessionResumptionConfig(handle=setup.handle)
    live.context_window_compression = types.ContextWindowCompressionConfig(
        trigger_tokens=options.compression_trigger_tokens,
        sliding_window=types.SlidingWindow(target_tokens=options.compression_target_tokens),
    )
    return live


def _realtime_input(config: SessionConfig) -> Any:
    from google.genai import types

    td = config.turn_detection
    if td is None:
        # Push-to-talk: the session marks each turn (activityStart, activityEnd at commit).
        return types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(disabled=True)
        )
    start = start_sensitivity(td.threshold)
    end = end_sensitivity(td.eagerness)
    detection = types.AutomaticActivityDetection(
        disabled=False,
        start_of_speech_sensitivity=types.StartSensitivity(start) if start else None,
        end_of_speech_sensitivity=types.EndSensitivity(end) if end else None,
        prefix_padding_ms=td.prefix_padding_ms,
        silence_duration_ms=td.silence_duration_ms,
    )
    return types.RealtimeInputConfig(
        automatic_activity_detection=detection,
        activity_handling=types.ActivityHandling.NO_INTERRUPTION
        if not td.interrupt_response
        else None,
    )
