"""The models the emulator serves, what sets each apart, and how ``setup.model`` names them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import INVALID_RESOURCE, Close, model_not_found, publisher_model_not_found

GEMINI = "gemini"  # the Gemini API (AI Studio): generativelanguage
VERTEX = "vertex"  # Vertex AI: aiplatform


@dataclass(frozen=True, slots=True)
class Model:
    id: str
    backends: frozenset[str]
    # TEXT output never completes a turn (3.8 is audio-only, M38; native-audio models hang on
    # TEXT, LiteLLM PR #38573).
    audio_only: bool = False
    # Function calls are NON_BLOCKING unless declared BLOCKING (3.8, reference §4.4).
    non_blocking_default: bool = False
    # NON_BLOCKING is not offered: every call blocks (3.1, M31).
    blocking_only: bool = False
    # Every call is NON_BLOCKING (3.8 extended thinking, reference §4.4).
    non_blocking_only: bool = False
    # contextUpdate is accepted (3.8, reference §2.5); thinkingConfig is rejected (M38);
    # proactivity.proactiveAudio false is rejected (M38).
    gemini38: bool = False
    # Input transcription arrives even when not asked for (3.1, D/171882).
    always_transcribes_input: bool = False


_BOTH = frozenset({GEMINI, VERTEX})
_GEMINI_ONLY = frozenset({GEMINI})
_VERTEX_ONLY = frozenset({VERTEX})

KNOWN: dict[str, Model] = {
    model.id: model
    for model in (
        Model("gemini-3.8-live", _BOTH, audio_only=True, non_blocking_default=True, gemini38=True),
        Model(
            "gemini-3.8-live-extended-thinking",
            _GEMINI_ONLY,
            audio_only=True,
            non_blocking_default=True,
            non_blocking_only=True,
            gemini38=True,
        ),
        Model(
            "gemini-3.1-flash-live-preview",
            _GEMINI_ONLY,
            blocking_only=True,
            always_transcribes_input=True,
        ),
        Model("gemini-2.5-flash-native-audio-preview-12-2025", _GEMINI_ONLY, audio_only=True),
        Model("gemini-2.5-flash-native-audio-preview-09-2025", _GEMINI_ONLY, audio_only=True),
        Model("gemini-2.5-flash-native-audio-latest", _GEMINI_ONLY, audio_only=True),
        Model("gemini-3.5-live-translate-preview", _GEMINI_ONLY, audio_only=True),
        Model("gemini-3.5-transcribe-live", _GEMINI_ONLY),
        Model("gemini-live-2.5-flash-native-audio", _VERTEX_ONLY, audio_only=True),
        Model("gemini-live-2.5-flash", _VERTEX_ONLY),
    )
}

_VERTEX_NAME = re.compile(
    r"^(?:projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/)?"
    r"publishers/google/models/(?P<id>[^/]+)$"
)


@dataclass(frozen=True, slots=True)
class Resolved:
    model: Model
    name: str  # as the client wrote it, fault suffix removed
    fault_specs: tuple[str, ...]


def resolve(backend: str, name: str, version: str, aliases: dict[str, str]) -> Resolved:
    """The model ``setup.model`` names on ``backend``, or the close the service answers with:
    Gemini API ``models/<id>`` (an unknown id: 1008 "... is not found for API version ...",
    reference §8); Vertex ``projects/P/locations/L/publishers/google/models/<id>`` or
    ``publishers/google/models/<id>`` (another form: 1007 "Invalid resource field value",
    mastra-ai/mastra#10257; an unknown id: 1008 "Publisher Model ...", reference §8).

    A ``~spec~spec`` suffix on the id selects faults for the connection (as the Nova Sonic
    emulator's model ids do); it is removed before the id is looked up."""
    base, *specs = name.split("~")
    if backend == GEMINI:
        model_id = base.removeprefix("models/") if base.startswith("models/") else None
        found = _lookup(model_id, backend, aliases)
        if found is None:
            raise model_not_found(base, version)
    else:
        match = _VERTEX_NAME.match(base)
        if match is None:
            raise Close(1007, INVALID_RESOURCE, f"model {base!r}")
        found = _lookup(match.group("id"), backend, aliases)
        if found is None:
            raise publisher_model_not_found(base)
    return Resolved(found, base, tuple(specs))


def _lookup(model_id: str | None, backend: str, aliases: dict[str, str]) -> Model | None:
    if model_id is None:
        return None
    model = KNOWN.get(aliases.get(model_id, model_id))
    if model is None or backend not in model.backends:
        return None
    return model
