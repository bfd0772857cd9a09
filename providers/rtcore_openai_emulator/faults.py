"""Faults on demand: parse fault specs and decide what each connection suffers.

A spec is ``name[=value][@n]``. ``@0`` is at connect (right after the WebSocket upgrade;
Azure's throttling answers the upgrade itself with HTTP 429); ``@n`` (n >= 1) is the
connection's n-th response, right after its first output. Faults:

- ``throttle`` (default ``@0``): at connect an ``error`` ``rate_limit_exceeded`` then a close
  (1013 "try again later" unless ``=code``); at a response the ``response.create`` is refused
  with that error and no response starts.
- ``server-error`` (default ``@1``): the response fails: an ``error`` of type
  ``server_error``, then ``response.done`` with status ``failed``; the socket stays open.
- ``stall`` (default ``@1``): the connection keeps reading but never sends again.
- ``reset`` (default ``@1``): the TCP connection is aborted (no close frame).
- ``close=CODE`` (default ``@1``): a close frame with ``CODE`` (1011 unless given).
- ``cap=S``: this connection's session cap in seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rtcore_emulator_kit import faults as kit
from rtcore_emulator_kit.faults import FaultSpecError as FaultSpecError

NAMES = ("throttle", "server-error", "stall", "reset", "close", "cap")
_DEFAULT_AT = {"throttle": 0, "server-error": 1, "stall": 1, "reset": 1, "close": 1}


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # one of NAMES but "cap"
    code: int | None = None  # for throttle at connect and close


@dataclass(slots=True)
class FaultPlan:
    cap: float | None = None
    at: dict[int, Action] = field(default_factory=dict)

    @property
    def at_connect(self) -> Action | None:
        return self.at.get(0)


def parse(specs: Iterable[str]) -> FaultPlan:
    """Build a plan from specs such as ``["cap=5", "server-error@2", "throttle"]``."""
    plan = FaultPlan()
    for spec in kit.read_specs(specs, NAMES):
        name = spec.name
        if name == "cap":
            plan.cap = spec.seconds()
            if spec.position:
                raise FaultSpecError(f"cap takes no position: {spec.text!r}")
            continue
        at = spec.at(_DEFAULT_AT[name])
        if at < 0 or (at == 0 and name in ("server-error", "stall")):
            raise spec.misplaced(at)
        code: int | None = None
        if spec.value:
            if name not in ("throttle", "close"):
                raise spec.valueless()
            code = spec.close_code()
        plan.at[at] = Action(name, code)
    return plan


def _struck_action(spec: str) -> Action:
    action = parse([f"{spec}@1"]).at[1]
    if action.kind == "throttle":
        raise FaultSpecError("throttle refuses a response before it starts: inject it")
    return action


class FaultQueue(kit.FaultQueue[Action]):
    """Faults queued for the next connections, and struck into the next response of any
    connection already open."""

    def __init__(self) -> None:
        super().__init__(parse, _struck_action)
