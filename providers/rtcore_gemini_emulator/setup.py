"""The ``setup`` message: checked once, at the start of a connection, into a typed ``Setup``.

Every field named here is one the reference lists (§2.1); a value the service would reject
closes the connection with 1007 "Request contains an invalid argument." (reference §0.4, §8),
the exact wording for an unknown field being unverified (reference §11).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import invalid
from .keys import items, mapping, pick, unknown
from .models import GEMINI, Model

SETUP_FIELDS = (
    "model",
    "generationConfig",
    "systemInstruction",
    "tools",
    "realtimeInputConfig",
    "inputAudioTranscription",
    "outputAudioTranscription",
    "sessionResumption",
    "contextWindowCompression",
    "proactivity",
    "historyConfig",
    "explicitVadSignal",
    "avatarConfig",
    "safetySettings",
    "prefixTurns",
    "labels",
)
GENERATION_FIELDS = (
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "presencePenalty",
    "frequencyPenalty",
    "responseModalities",
    "speechConfig",
    "mediaResolution",
    "translationConfig",
    "seed",
    "thinkingConfig",
    "enableAffectiveDialog",
)
# The 30 prebuilt voices (reference §5).
VOICES = (
    "Achernar",
    "Achird",
    "Algenib",
    "Algieba",
    "Alnilam",
    "Aoede",
    "Autonoe",
    "Callirrhoe",
    "Charon",
    "Despina",
    "Enceladus",
    "Erinome",
    "Fenrir",
    "Gacrux",
    "Iapetus",
    "Kore",
    "Laomedeia",
    "Leda",
    "Orus",
    "Pulcherrima",
    "Puck",
    "Rasalgethi",
    "Sadachbia",
    "Sadaltager",
    "Schedar",
    "Sulafat",
    "Umbriel",
    "Vindemiatrix",
    "Zephyr",
    "Zubenelgenubi",
)
DEFAULT_VOICE = "Puck"
START_SENSITIVITIES = (
    "START_SENSITIVITY_UNSPECIFIED",
    "START_SENSITIVITY_HIGH",
    "START_SENSITIVITY_LOW",
)
END_SENSITIVITIES = ("END_SENSITIVITY_UNSPECIFIED", "END_SENSITIVITY_HIGH", "END_SENSITIVITY_LOW")
ACTIVITY_HANDLING = (
    "ACTIVITY_HANDLING_UNSPECIFIED",
    "START_OF_ACTIVITY_INTERRUPTS",
    "NO_INTERRUPTION",
)
TURN_COVERAGE = (
    "TURN_COVERAGE_UNSPECIFIED",
    "TURN_INCLUDES_ONLY_ACTIVITY",
    "TURN_INCLUDES_ALL_INPUT",
    "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO",
)
BEHAVIORS = ("UNSPECIFIED", "BLOCKING", "NON_BLOCKING")
_FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Function:
    """A declared function, as the shared tool rule reads it (``rtcore_emulated_speech``)."""

    name: str
    description: str
    schema: dict[str, Any]
    behavior: str  # BLOCKING / NON_BLOCKING / "" (the model's default)


@dataclass(slots=True)
class Activity:
    """``realtimeInputConfig``: turn detection and what user activity does to the model."""

    automatic: bool = True
    start_sensitivity: str = ""
    end_sensitivity: str = ""
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None
    interrupts: bool = True  # activityHandling START_OF_ACTIVITY_INTERRUPTS (the default)


@dataclass(slots=True)
class Setup:
    model_name: str
    text_output: bool = False  # responseModalities ["TEXT"]; else AUDIO
    voice: str = DEFAULT_VOICE
    system_instruction: str = ""
    functions: list[Function] = field(default_factory=list)
    activity: Activity = field(default_factory=Activity)
    input_transcription: bool = False
    output_transcription: bool = False
    resumption: bool = False
    resume_handle: str | None = None
    compression: bool = False
    initial_history_in_client_content: bool = False


def parse(body: Any, backend: str, model: Model | None = None) -> Setup:
    """Check ``setup`` (``model`` already resolved to ``model``; None skips the model's own
    rules, to resolve the model from a checked setup first)."""
    if not isinstance(body, dict):
        raise invalid("setup must be an object")
    if extra := unknown(body, SETUP_FIELDS):
        raise invalid(f"unknown setup fields {extra}")
    name = pick(body, "model")
    if not isinstance(name, str) or not name:
        raise invalid("setup.model is required")
    setup = Setup(model_name=name)
    _generation(setup, mapping(body, "generationConfig"), model)
    setup.system_instruction = _text_of(mapping(body, "systemInstruction"))
    setup.functions = functions_of(items(body, "tools"))
    setup.activity = _activity(mapping(body, "realtimeInputConfig"))
    setup.input_transcription = pick(body, "inputAudioTranscription") is not None
    setup.output_transcription = pick(body, "outputAudioTranscription") is not None
    resumption = pick(body, "sessionResumption")
    if resumption is not None:
        if not isinstance(resumption, dict):
            raise invalid("sessionResumption must be an object")
        setup.resumption = True
        handle = pick(resumption, "handle")
        setup.resume_handle = handle if isinstance(handle, str) and handle else None
        # transparent is Vertex-only (reference §2.1: the SDK refuses it for the Gemini API).
        if backend == GEMINI and pick(resumption, "transparent") is not None:
            raise invalid("sessionResumption.transparent is Vertex-only")
    setup.compression = pick(body, "contextWindowCompression") is not None
    if backend == GEMINI and pick(body, "explicitVadSignal") is not None:
        raise invalid("explicitVadSignal is Vertex-only")
    history = mapping(body, "historyConfig")
    setup.initial_history_in_client_content = bool(pick(history, "initialHistoryInClientContent"))
    proactivity = mapping(body, "proactivity")
    if model is not None and model.gemini38 and pick(proactivity, "proactiveAudio") is False:
        raise invalid("proactiveAudio is always on for gemini-3.8-live (M38)")
    return setup


def _generation(setup: Setup, config: dict[str, Any], model: Model | None) -> None:
    if extra := unknown(config, GENERATION_FIELDS):
        raise invalid(f"unknown generationConfig fields {extra}")
    modalities = pick(config, "responseModalities")
    if modalities is not None:
        if not isinstance(modalities, list) or len(modalities) != 1:
            raise invalid("responseModalities takes exactly one modality")
        modality = str(modalities[0]).upper()
        if modality not in ("AUDIO", "TEXT"):
            raise invalid(f"responseModalities {modality} is not served")
        setup.text_output = modality == "TEXT"
    for name, low, high in (("temperature", 0.0, 2.0), ("topP", 0.0, 1.0)):
        value = pick(config, name)
        if value is not None and (not isinstance(value, int | float) or not low <= value <= high):
            raise invalid(f"{name} out of range")
    if model is not None and model.gemini38 and pick(config, "thinkingConfig") is not None:
        raise invalid("gemini-3.8-live takes no thinkingConfig (M38)")
    speech = mapping(config, "speechConfig")
    voice = pick(mapping(mapping(speech, "voiceConfig"), "prebuiltVoiceConfig"), "voiceName")
    if voice is not None:
        if not isinstance(voice, str) or voice.capitalize() not in VOICES:
            raise invalid(f"unknown voice {voice!r}")
        setup.voice = voice.capitalize()


def _text_of(content: dict[str, Any]) -> str:
    parts = items(content, "parts")
    return "".join(str(pick(p, "text", "")) for p in parts if isinstance(p, dict))


def functions_of(tools: list[Any]) -> list[Function]:
    functions: list[Function] = []
    seen: set[str] = set()
    for tool in tools:
        if not isinstance(tool, dict):
            raise invalid("a tool must be an object")
        for declaration in items(tool, "functionDeclarations"):
            if not isinstance(declaration, dict):
                raise invalid("a function declaration must be an object")
            name = pick(declaration, "name")
            if not isinstance(name, str) or not _FUNCTION_NAME.match(name) or name in seen:
                raise invalid(f"bad or repeated function name {name!r}")
            seen.add(name)
            behavior = str(pick(declaration, "behavior") or "")
            if behavior and behavior not in BEHAVIORS:
                raise invalid(f"unknown behavior {behavior!r}")
            schema = pick(declaration, "parametersJsonSchema") or pick(declaration, "parameters")
            functions.append(
                Function(
                    name,
                    str(pick(declaration, "description") or ""),
                    _lower_types(schema) if isinstance(schema, dict) else {},
                    "" if behavior == "UNSPECIFIED" else behavior,
                )
            )
    return functions


def _lower_types(schema: dict[str, Any]) -> dict[str, Any]:
    """Gemini's OpenAPI-subset schemas spell types upper-case (``STRING``); the shared tool
    rule reads JSON Schema's lower-case ones."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out[key] = value.lower()
        elif key == "properties" and isinstance(value, dict):
            out[key] = {k: _lower_types(v) if isinstance(v, dict) else v for k, v in value.items()}
        else:
            out[key] = value
    return out


def _activity(config: dict[str, Any]) -> Activity:
    activity = Activity()
    detection = mapping(config, "automaticActivityDetection")
    activity.automatic = not pick(detection, "disabled", False)
    activity.start_sensitivity = _enum(detection, "startOfSpeechSensitivity", START_SENSITIVITIES)
    activity.end_sensitivity = _enum(detection, "endOfSpeechSensitivity", END_SENSITIVITIES)
    for name in ("prefixPaddingMs", "silenceDurationMs"):
        value = pick(detection, name)
        if value is not None and (not isinstance(value, int) or value < 0):
            raise invalid(f"{name} must be a non-negative integer")
    activity.prefix_padding_ms = pick(detection, "prefixPaddingMs")
    activity.silence_duration_ms = pick(detection, "silenceDurationMs")
    handling = _enum(config, "activityHandling", ACTIVITY_HANDLING)
    activity.interrupts = handling != "NO_INTERRUPTION"
    _enum(config, "turnCoverage", TURN_COVERAGE)
    return activity


def _enum(obj: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = pick(obj, name)
    if value is None:
        return ""
    if value not in allowed:
        raise invalid(f"{name} {value!r} is not one of {allowed}")
    return str(value)
