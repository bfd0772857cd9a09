"""The Gemini Live models rtcore knows, on each backend, and what differs between them
(docs/providers/gemini-live.md cites the sources)."""

from __future__ import annotations

from typing import Literal

import msgspec

from rtcore.provider import Prices

Backend = Literal["gemini", "vertex"]

GEMINI_DEFAULT = "gemini-3.8-live"
VERTEX_DEFAULT = "gemini-live-2.5-flash-native-audio"

# The 30 prebuilt voices of the native-audio Live models.
VOICES = (
    "Achernar", "Achird", "Algenib", "Algieba", "Alnilam", "Aoede", "Autonoe", "Callirrhoe",
    "Charon", "Despina", "Enceladus", "Erinome", "Fenrir", "Gacrux", "Iapetus", "Kore",
    "Laomedeia", "Leda", "Orus", "Pulcherrima", "Puck", "Rasalgethi", "Sadachbia",
    "Sadaltager", "Schedar", "Sulafat", "Umbriel", "Vindemiatrix", "Zephyr", "Zubenelgenubi",
)  # fmt: skip
DEFAULT_VOICE = "Puck"
_BY_LOWER = {v.lower(): v for v in VOICES}

# USD per token (Google's pricing page, paid tier; per 1M tokens in the comments).
# 3.8 Live: text in 0.75, audio in 3.00, text out 4.50, audio out 12.00.
_PRICES_38 = Prices(input_text=0.75e-6, input_audio=3.0e-6, output_text=4.5e-6, output_audio=12e-6)
# 2.5 Flash native audio (Gemini API and Vertex): 0.50, 3.00, 2.00, 12.00.
_PRICES_25 = Prices(input_text=0.5e-6, input_audio=3.0e-6, output_text=2.0e-6, output_audio=12e-6)

ToolBehavior = Literal["BLOCKING", "NON_BLOCKING"]


class ModelProfile(msgspec.Struct, frozen=True, kw_only=True):
    """``tool_behavior``: what function declarations say (None: leave the model's own,
    blocking, default; a model with synchronous calls only rejects the field).
    ``known``: listed by Google; an unknown id is served with a generic profile."""

    id: str
    backend: Backend
    tool_behavior: ToolBehavior | None = None
    prices: Prices | None = None
    known: bool = True


_GEMINI = (
    # Asynchronous function calling is 3.8's default (and the only mode of its
    # extended-thinking variant): the reply goes on while the tool runs.
    ModelProfile(id="gemini-3.8-live", backend="gemini", tool_behavior="NON_BLOCKING",
                 prices=_PRICES_38),
    # Priced as 3.8 Live (no separate figure is published).
    ModelProfile(id="gemini-3.8-live-extended-thinking", backend="gemini",
                 tool_behavior="NON_BLOCKING", prices=_PRICES_38),
    # Synchronous calls only; audio rates inferred from the per-minute figures.
    ModelProfile(id="gemini-3.1-flash-live-preview", backend="gemini", prices=_PRICES_38),
    ModelProfile(id="gemini-2.5-flash-native-audio-preview-12-2025", backend="gemini",
                 prices=_PRICES_25),
    ModelProfile(id="gemini-2.5-flash-native-audio-preview-09-2025", backend="gemini",
                 prices=_PRICES_25),
    ModelProfile(id="gemini-2.5-flash-native-audio-latest", backend="gemini", prices=_PRICES_25),
)  # fmt: skip
_VERTEX = (
    ModelProfile(id="gemini-live-2.5-flash-native-audio", backend="vertex", prices=_PRICES_25),
    ModelProfile(id="gemini-3.8-live", backend="vertex", tool_behavior="NON_BLOCKING",
                 prices=_PRICES_38),
    # Priced as the native-audio 2.5 model (assumed: no separate figure is published).
    ModelProfile(id="gemini-live-2.5-flash", backend="vertex", prices=_PRICES_25),
)  # fmt: skip

GEMINI_MODELS = tuple(p.id for p in _GEMINI)
VERTEX_MODELS = tuple(p.id for p in _VERTEX)


def model_id(model: str) -> str:
    """The id Google knows: without a LiteLLM prefix or a ``models/`` path."""
    for prefix in ("gemini/", "vertex_ai/", "models/", "publishers/google/models/"):
        model = model.removeprefix(prefix)
    return model


def profile_for(model: str, backend: Backend) -> ModelProfile:
    """The model's profile; an id rtcore does not list is served as written, with no
    tool-behaviour override and no prices (its spend cannot be charged)."""
    wanted = model_id(model)
    for profile in _GEMINI if backend == "gemini" else _VERTEX:
        if profile.id == wanted:
            return profile
    return ModelProfile(id=wanted, backend=backend, known=False)


def accepts_gemini(model: str) -> bool:
    return model_id(model).startswith("gemini")


def accepts_vertex(model: str) -> bool:
    return model_id(model).startswith("gemini")


def resolve_voice(voice: str | None) -> str:
    """The prebuilt voice, matched without regard to case, or ValueError listing them."""
    if not voice:
        return DEFAULT_VOICE
    found = _BY_LOWER.get(voice.strip().lower())
    if found is None:
        raise ValueError(
            f"Voice {voice!r} is not a Gemini Live voice. Available voices: {', '.join(VOICES)}."
        )
    return found


StartSensitivity = Literal["START_SENSITIVITY_HIGH", "START_SENSITIVITY_LOW"]
EndSensitivity = Literal["END_SENSITIVITY_HIGH", "END_SENSITIVITY_LOW"]


def start_sensitivity(threshold: float | None) -> StartSensitivity | None:
    """OpenAI's VAD threshold (0..1, default 0.5; higher needs louder speech) onto Gemini's
    start-of-speech sensitivity; near the default, the model's own default stays."""
    if threshold is None or 0.4 < threshold < 0.6:
        return None
    return "START_SENSITIVITY_LOW" if threshold >= 0.6 else "START_SENSITIVITY_HIGH"


def end_sensitivity(eagerness: str | None) -> EndSensitivity | None:
    """Semantic VAD's eagerness onto the end-of-speech sensitivity: an eager detector
    ends turns sooner (HIGH); "medium" and "auto" keep the model's default."""
    level = (eagerness or "").lower()
    if level == "high":
        return "END_SENSITIVITY_HIGH"
    if level == "low":
        return "END_SENSITIVITY_LOW"
    return None
