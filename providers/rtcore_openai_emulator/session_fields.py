"""The fields of a ``session.update`` one by one: each value checked as the vendor checks
it, and the error it answers otherwise (``ClientError`` in OpenAI's shape: the field as
``param``); the vendors' voices. ``session_config`` applies them to a session whole."""

from __future__ import annotations

from typing import Any

from .audio import DEFAULT_RATE, PCM, PCMA, PCMU, XAI_RATES, AudioFormat
from .errors import ClientError
from .vendors import Vendor

# ``response.create``'s ``response`` (SDK types/realtime/realtime_response_create_params.py;
# ``modalities`` is the beta spelling xAI takes).
RESPONSE_FIELDS = {
    "conversation",
    "metadata",
    "instructions",
    "output_modalities",
    "modalities",
    "audio",
    "tools",
    "tool_choice",
    "max_output_tokens",
    "input",
    "prompt",
    "reasoning",
    "parallel_tool_calls",
    "tracing",
}
SERVER_VAD_DEFAULTS: dict[str, Any] = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 200,
    "idle_timeout_ms": None,
    "create_response": True,
    "interrupt_response": True,
}
SEMANTIC_VAD_DEFAULTS: dict[str, Any] = {
    "type": "semantic_vad",
    "eagerness": "auto",
    "create_response": True,
    "interrupt_response": True,
}
OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
XAI_VOICES = (
    "eve",
    "ara",
    "leo",
    "rex",
    "sal",
    "carina",
    "zagan",
    "helix",
    "orion",
    "luna",
    "iris",
    "altair",
    "zenith",
    "perseus",
    "helios",
    "lux",
    "kepler",
    "rigel",
    "cosmo",
    "celeste",
    "ursa",
    "sirius",
    "lumen",
    "castor",
    "naksh",
    "atlas",
    "aurora",
    "liora",
)


def unknown_field(param: str) -> ClientError:
    return ClientError(f"Unknown parameter: '{param}'.", code="unknown_parameter", param=param)


def invalid_field(param: str, message: str, code: str = "invalid_value") -> ClientError:
    return ClientError(f"Invalid '{param}': {message}", code=code, param=param)


def modalities_field(value: Any, param: str = "session.output_modalities") -> list[str]:
    if not isinstance(value, list) or len(value) != 1 or value[0] not in ("audio", "text"):
        raise invalid_field(param, "expected ['audio'] or ['text'].")
    return list(value)


def format_field(value: Any, param: str, xai: bool) -> AudioFormat:
    if not isinstance(value, dict):
        raise invalid_field(param, "expected an object.", "invalid_type")
    kind = value.get("type")
    if kind in (PCMU, PCMA):
        return AudioFormat(str(kind), 8000)
    if kind != PCM:
        raise invalid_field(
            f"{param}.type", "expected one of 'audio/pcm', 'audio/pcmu', 'audio/pcma'."
        )
    rate = value.get("rate", DEFAULT_RATE)
    if not isinstance(rate, int) or isinstance(rate, bool):
        raise invalid_field(f"{param}.rate", "expected an integer.", "invalid_type")
    if xai:
        if rate not in XAI_RATES:
            allowed = ", ".join(str(r) for r in XAI_RATES)
            raise invalid_field(f"{param}.rate", f"expected one of {allowed}, but got {rate}.")
    elif rate < DEFAULT_RATE:
        raise invalid_field(
            f"{param}.rate",
            f"integer below minimum value. Expected a value >= {DEFAULT_RATE}, but got {rate} "
            "instead.",
            "integer_below_min_value",
        )
    elif rate > DEFAULT_RATE:
        raise invalid_field(
            f"{param}.rate",
            f"integer above maximum value. Expected a value <= {DEFAULT_RATE}, but got {rate} "
            "instead.",
            "integer_above_max_value",
        )
    return AudioFormat(PCM, rate)


def voice_field(value: Any, voices: tuple[str, ...], param: str) -> Any:
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return dict(value)  # a custom voice
    if isinstance(value, str):
        if value in voices:
            return value
        if voices is XAI_VOICES and value.lower() in voices:
            return value  # xAI's names are case-insensitive
    raise invalid_field(param, f"expected one of {', '.join(voices)} or a custom voice {{id}}.")


def speed_field(value: Any, param: str, low: float, high: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
        raise invalid_field(param, f"expected a number from {low} to {high}.")
    return float(value)


def transcription_field(value: Any, param: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_field(param, "expected an object or null.", "invalid_type")
    return dict(value)


def turn_detection_field(value: Any, param: str, keys: set[str]) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_field(param, "expected an object or null.", "invalid_type")
    for key in value:
        if key not in keys:
            raise unknown_field(f"{param}.{key}")
    kind = value.get("type", "server_vad")
    if kind == "server_vad":
        merged = {**SERVER_VAD_DEFAULTS, **value}
    elif kind == "semantic_vad":
        merged = {**SEMANTIC_VAD_DEFAULTS, **value}
        if merged["eagerness"] not in ("low", "medium", "high", "auto"):
            raise invalid_field(f"{param}.eagerness", "expected low, medium, high or auto.")
    else:
        raise invalid_field(f"{param}.type", "expected 'server_vad' or 'semantic_vad'.")
    threshold = merged.get("threshold")
    if threshold is not None and not (isinstance(threshold, int | float) and 0 <= threshold <= 1):
        raise invalid_field(f"{param}.threshold", "expected a number from 0 to 1.")
    for name in ("prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms"):
        number = merged.get(name)
        if number is not None and (not isinstance(number, int) or number < 0):
            raise invalid_field(f"{param}.{name}", "expected a non-negative integer.")
    return merged


_XAI_TOOL_TYPES = ("function", "web_search", "x_search", "file_search", "mcp")
_GA_TOOL_TYPES = ("function", "mcp")


def tools_of(value: Any, param: str, vendor: Vendor) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise invalid_field(param, "expected an array.", "invalid_type")
    allowed = _XAI_TOOL_TYPES if vendor is Vendor.XAI else _GA_TOOL_TYPES
    out = []
    for index, tool in enumerate(value):
        where = f"{param}[{index}]"
        if not isinstance(tool, dict):
            raise invalid_field(where, "expected an object.", "invalid_type")
        kind = tool.get("type", "function")
        if kind not in allowed:
            raise invalid_field(f"{where}.type", f"expected one of {', '.join(allowed)}.")
        if kind == "function" and not isinstance(tool.get("name"), str):
            raise ClientError(
                f"Missing required parameter: '{where}.name'.",
                code="missing_required_parameter",
                param=f"{where}.name",
            )
        out.append(dict(tool))
    return out


def tool_choice_of(value: Any, param: str) -> Any:
    if value in ("auto", "none", "required"):
        return value
    if isinstance(value, dict) and value.get("type") == "function" and "name" in value:
        return dict(value)
    if isinstance(value, dict) and value.get("type") == "mcp":
        return dict(value)
    raise invalid_field(param, "expected 'auto', 'none', 'required' or {type: 'function', name}.")


def max_tokens_field(value: Any, param: str) -> None:
    if value == "inf":
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 4096:
        raise invalid_field(param, "expected an integer from 1 to 4096 or 'inf'.")


def max_tokens_of(value: Any, param: str) -> Any:
    max_tokens_field(value, param)
    return value


def modalities_of(value: Any, param: str) -> list[str]:
    return modalities_field(value, param)


def format_of(value: Any, param: str, vendor: Vendor) -> AudioFormat:
    return format_field(value, param, vendor is Vendor.XAI)


def voice_of(value: Any, param: str, vendor: Vendor) -> Any:
    return voice_field(value, XAI_VOICES if vendor is Vendor.XAI else OPENAI_VOICES, param)
