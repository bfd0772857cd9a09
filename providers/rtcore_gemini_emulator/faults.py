"""Faults on demand: parse fault specs and decide what each connection suffers.

A spec is ``name[=value][@n]``. ``@0`` is at setup (the connection closes instead of
``setupComplete``); ``@n`` (n >= 1) is in the n-th model turn of the connection, right after its
first output (an audio chunk, a text part or a tool call), but for ``mute``: the connection takes
the turn (its input transcription goes out) and then says nothing more, no output, no
``turnComplete``, no ``goAway``, no error, the socket open (google-gemini/gemini-live-api-examples
issue 48, sonichi/sutando PR 977: a live session that goes silent after the user spoke). For
the close faults ``=value`` is another close code (``quota=1008``); ``lifetime=S`` sets the
connection's lifetime.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rtcore_emulator_kit import faults as kit
from rtcore_emulator_kit.faults import FaultSpecError as FaultSpecError

from .errors import (
    DEADLINE,
    EXHAUSTED,
    INTERNAL,
    INVALID_ARGUMENT,
    NOT_IMPLEMENTED,
    QUOTA,
    UNAVAILABLE,
    Close,
)

# name -> (close code, reason, default position); reasons and codes from reference §8.
_CLOSES = {
    "bad-setup": (1007, INVALID_ARGUMENT, 0),
    "quota": (1011, QUOTA, 0),
    "exhausted": (1011, EXHAUSTED, 0),
    "internal": (1011, INTERNAL, 1),
    "unavailable": (1011, UNAVAILABLE, 1),
    "not-implemented": (1008, NOT_IMPLEMENTED, 1),
    "deadline": (1011, DEADLINE, 1),
}
_SETUP_ONLY = ("bad-setup",)
_ACTIONS = ("stall", "reset", "mute")
NAMES = (*_CLOSES, *_ACTIONS, "lifetime")


@dataclass(frozen=True, slots=True)
class Action:
    """What happens at a point: close with ``close``, or ``stall`` / ``reset``."""

    kind: str
    close: Close | None = None


@dataclass(slots=True)
class FaultPlan:
    lifetime: float | None = None
    at_turn: dict[int, Action] = field(default_factory=dict)

    @property
    def at_setup(self) -> Action | None:
        return self.at_turn.get(0)


def parse(specs: Iterable[str]) -> FaultPlan:
    """Build a plan from specs such as ``["lifetime=5", "internal@2", "quota"]``."""
    plan = FaultPlan()
    for spec in kit.read_specs(specs, NAMES):
        name = spec.name
        if name == "lifetime":
            plan.lifetime = spec.seconds()
            continue
        at = spec.at(_CLOSES[name][2] if name in _CLOSES else 1)
        if at < 0 or (at == 0 and name in ("stall", "mute")) or (at > 0 and name in _SETUP_ONLY):
            raise spec.misplaced(at)
        if name in _ACTIONS:
            if spec.value:
                raise spec.valueless()
            plan.at_turn[at] = Action(name)
            continue
        code, reason, _ = _CLOSES[name]
        if spec.value:
            code = spec.close_code()
        plan.at_turn[at] = Action("close", Close(code, reason, f"fault {spec.text}"))
    return plan


def _struck_action(spec: str) -> Action:
    return parse([f"{spec}@1"]).at_turn[1]


class FaultQueue(kit.FaultQueue[Action]):
    """Faults queued for the next connections, and struck into the next model turn of any
    connection already open."""

    def __init__(self) -> None:
        super().__init__(parse, _struck_action)
