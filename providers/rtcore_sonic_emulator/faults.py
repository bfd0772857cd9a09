"""Faults on demand: parse fault specs and decide what each connection suffers.

A spec is ``name[=value][@n]``: ``@0`` means at open (an HTTP error before the stream starts),
``@n`` (n >= 1) means in the n-th response, right after its first audio chunk; ``mute@n``
takes the n-th turn (its USER transcript goes out) and then the stream says nothing more, as a
live model that stops answering does (the stall the provider's watchdog is for).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rtcore_emulator_kit import faults as kit

from .errors import (
    ACCESS_DENIED,
    INVALID_MODEL,
    MODEL_TIMEOUT,
    RST_STREAM_531,
    STREAM_ERROR,
    SYSTEM_INSTABILITY,
    THROTTLED,
    UNAVAILABLE,
    BedrockError,
    validation,
)

# name -> (exception name, message, default position)
_ERRORS = {
    "throttle": ("ThrottlingException", THROTTLED, 0),
    "unavailable": ("ServiceUnavailableException", UNAVAILABLE, 1),
    "stream-error": ("ModelStreamErrorException", STREAM_ERROR, 1),
    "rst531": ("ValidationException", RST_STREAM_531, 1),
    # Transient, "please retry" (seen in the wild: livekit issue 6010).
    "instability": ("ValidationException", SYSTEM_INSTABILITY, 1),
    "internal": ("InternalServerException", "An internal server error occurred.", 1),
    "timeout": ("ModelTimeoutException", MODEL_TIMEOUT, 1),
    # Only at open: what Bedrock answers without model access, or in a region without the model.
    "access-denied": ("AccessDeniedException", ACCESS_DENIED, 0),
    "no-model": ("ValidationException", INVALID_MODEL, 0),
}
_OPEN_ONLY = ("access-denied", "no-model")
_ACTIONS = ("stall", "reset", "mute")
NAMES = (*_ERRORS, *_ACTIONS, "limit")


@dataclass(frozen=True, slots=True)
class Action:
    """What happens at a point: raise ``error``, or ``stall`` / ``reset``."""

    kind: str
    error: BedrockError | None = None


@dataclass(slots=True)
class FaultPlan:
    connection_limit: float | None = None
    at_open: BedrockError | None = None
    at_response: dict[int, Action] = field(default_factory=dict)

    def merge(self, other: FaultPlan) -> None:
        if other.connection_limit is not None:
            self.connection_limit = other.connection_limit
        self.at_open = other.at_open or self.at_open
        self.at_response.update(other.at_response)


def _error(name: str) -> BedrockError:
    exception, message, _ = _ERRORS[name]
    if exception == "ModelStreamErrorException":
        return BedrockError(
            exception, message, original_status_code=500, original_message="Internal error"
        )
    return BedrockError(exception, message)


def parse(specs: Iterable[str]) -> FaultPlan:
    """Build a plan from specs such as ``["limit=5", "stream-error@2", "throttle"]``."""
    try:
        return _parse(specs)
    except kit.FaultSpecError as error:
        # Bedrock words what it refuses as sentences.
        message = str(error)
        raise validation(f"{message[:1].upper()}{message[1:]}.") from None


def _parse(specs: Iterable[str]) -> FaultPlan:
    plan = FaultPlan()
    for spec in kit.read_specs(specs, NAMES):
        name = spec.name
        if name == "limit":
            try:
                plan.connection_limit = float(spec.value)
            except ValueError:
                raise validation(
                    f"Fault limit needs seconds, e.g. limit=5; got {spec.text!r}."
                ) from None
            continue
        at = spec.at(_ERRORS[name][2] if name in _ERRORS else 1)
        if at < 0 or (at == 0 and name in _ACTIONS) or (at > 0 and name in _OPEN_ONLY):
            raise spec.misplaced(at)
        if at == 0:
            plan.at_open = _error(name)
        else:
            error = _error(name) if name in _ERRORS else None
            plan.at_response[at] = Action(name if error is None else "error", error)
    return plan


def split_model_id(model_id: str) -> tuple[str, list[str]]:
    """``amazon.nova-2-sonic-v1:0~limit=5~stream-error@2`` -> base id and fault specs."""
    base, *specs = model_id.split("~")
    return base, specs


def _struck_action(spec: str) -> Action:
    return parse([f"{spec}@1"]).at_response[1]


class FaultQueue(kit.FaultQueue[Action]):
    """Faults queued for the next streams, and struck into the next reply of any stream
    already open (right after its first audio chunk)."""

    def __init__(self) -> None:
        super().__init__(parse, _struck_action)
