"""The optional session settings (``SESSION_OPTIONS``) in neutral form, checked: parsed
only for a provider that applies them."""

from __future__ import annotations

from typing import Any, Literal

from msgspec import UNSET

from rtcore.protocol.errors import RealtimeError
from rtcore.protocol.wire import NoiseReductionWire
from rtcore.provider.messages import PromptRef, Truncation

# OpenAI's reasoning efforts (gpt-realtime-2 and later), and "none" (xAI's off).
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")


def _invalid(message: str, param: str) -> RealtimeError:
    return RealtimeError("invalid_value", message, param=param)


def parse_noise_reduction(
    nr: NoiseReductionWire | None, param: str
) -> Literal["near_field", "far_field"] | None:
    if nr is None or nr.type is UNSET:
        return None
    if nr.type == "near_field":
        return "near_field"
    if nr.type == "far_field":
        return "far_field"
    raise _invalid(
        f"Invalid value: '{nr.type}'. Supported values are: 'near_field' and 'far_field'.",
        f"{param}.type",
    )


def parse_speed(speed: float, param: str) -> float:
    if not 0.25 <= speed <= 1.5:
        raise _invalid(f"Invalid value: {speed}. Speed is between 0.25 and 1.5.", param)
    return speed


def parse_reasoning(value: Any, param: str) -> str | None:
    if value is None:
        return None
    effort = value.get("effort") if isinstance(value, dict) else None
    if effort is None and isinstance(value, dict) and set(value) <= {"effort"}:
        return None
    if effort not in REASONING_EFFORTS:
        listed = ", ".join(f"'{e}'" for e in REASONING_EFFORTS)
        raise _invalid(
            f"Invalid value: {value!r}. Expected {{'effort': ...}} with one of {listed}.",
            f"{param}.effort",
        )
    return str(effort)


def parse_truncation(value: Any, param: str) -> Truncation:
    if value in ("auto", "disabled"):
        return Truncation(type=value)
    if isinstance(value, dict) and value.get("type") == "retention_ratio":
        ratio = value.get("retention_ratio")
        if not isinstance(ratio, int | float) or isinstance(ratio, bool) or not 0.0 <= ratio <= 1.0:
            raise _invalid(
                f"Invalid value: {ratio!r}. retention_ratio is a number from 0 to 1.",
                f"{param}.retention_ratio",
            )
        return Truncation(type="retention_ratio", retention_ratio=float(ratio))
    raise _invalid(
        f"Invalid value: {value!r}. Supported values are: 'auto', 'disabled', or "
        "{'type': 'retention_ratio', 'retention_ratio': ...}.",
        param,
    )


def parse_prompt(value: Any, param: str) -> PromptRef | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        raise _invalid("A prompt is {'id': ..., 'version': ..., 'variables': {...}}.", param)
    version = value.get("version")
    variables = value.get("variables") or {}
    if version is not None and not isinstance(version, str):
        raise _invalid("A prompt's version is a string.", f"{param}.version")
    if not isinstance(variables, dict):
        raise _invalid("A prompt's variables are an object.", f"{param}.variables")
    return PromptRef(id=value["id"], version=version, variables=variables)
