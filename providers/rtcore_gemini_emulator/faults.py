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

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

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


class FaultSpecError(ValueError):
    """A spec that names no fault or cannot happen where it says."""


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
    for raw in specs:
        spec = raw.strip()
        if not spec:
            continue
        head, _, position = spec.partition("@")
        name, _, value = head.partition("=")
        if name not in NAMES:
            raise FaultSpecError(f"unknown emulator fault {name!r}; known: {', '.join(NAMES)}")
        if name == "lifetime":
            try:
                plan.lifetime = float(value)
            except ValueError:
                raise FaultSpecError(f"lifetime needs seconds, e.g. lifetime=5: {spec!r}") from None
            continue
        default = _CLOSES[name][2] if name in _CLOSES else 1
        try:
            at = int(position) if position else default
        except ValueError:
            raise FaultSpecError(f"bad fault position in {spec!r}") from None
        if at < 0 or (at == 0 and name in ("stall", "mute")) or (at > 0 and name in _SETUP_ONLY):
            raise FaultSpecError(f"fault {name} cannot happen at position {at}")
        if name in _ACTIONS:
            if value:
                raise FaultSpecError(f"fault {name} takes no value: {spec!r}")
            plan.at_turn[at] = Action(name)
            continue
        code, reason, _ = _CLOSES[name]
        if value:
            try:
                code = int(value)
            except ValueError:
                raise FaultSpecError(f"a close code is a number: {spec!r}") from None
        plan.at_turn[at] = Action("close", Close(code, reason, f"fault {spec}"))
    return plan


class FaultQueue:
    """Faults queued through the Python API, consumed by the next connections in order;
    and faults for the next model turn of any connection already open (``strike``)."""

    def __init__(self) -> None:
        self._queue: deque[list[str]] = deque()
        self._turns: deque[Action] = deque()

    def strike(self, spec: str) -> None:
        """The next model turn any connection starts (this one's or a later one's) suffers
        ``spec`` (``quota``, ``internal``, ``stall``...; no position) right after its
        first output."""
        self._turns.append(parse([f"{spec}@1"]).at_turn[1])

    def struck(self, *, answering: bool = True) -> Action | None:
        """The next struck fault, if it strikes now: once the turn's first output is out
        (``answering``), or before the turn is answered (``mute``)."""
        if self._turns and (self._turns[0].kind == "mute") != answering:
            return self._turns.popleft()
        return None

    def add(self, *specs: str, connections: int = 1) -> None:
        parse(specs)  # fail fast on a typo, in the test that made it
        for _ in range(connections):
            self._queue.append(list(specs))

    def clear(self) -> None:
        self._queue.clear()
        self._turns.clear()

    def take(self) -> list[str]:
        return self._queue.popleft() if self._queue else []

    def __len__(self) -> int:
        return len(self._queue)
