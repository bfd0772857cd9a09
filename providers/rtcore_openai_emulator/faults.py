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

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

NAMES = ("throttle", "server-error", "stall", "reset", "close", "cap")
_DEFAULT_AT = {"throttle": 0, "server-error": 1, "stall": 1, "reset": 1, "close": 1}


class FaultSpecError(ValueError):
    """A spec that names no fault or cannot happen where it says."""


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
    for raw in specs:
        spec = raw.strip()
        if not spec:
            continue
        head, _, position = spec.partition("@")
        name, _, value = head.partition("=")
        if name not in NAMES:
            raise FaultSpecError(f"unknown emulator fault {name!r}; known: {', '.join(NAMES)}")
        if name == "cap":
            try:
                plan.cap = float(value)
            except ValueError:
                raise FaultSpecError(f"cap needs seconds, e.g. cap=5: {spec!r}") from None
            if position:
                raise FaultSpecError(f"cap takes no position: {spec!r}")
            continue
        try:
            at = int(position) if position else _DEFAULT_AT[name]
        except ValueError:
            raise FaultSpecError(f"bad fault position in {spec!r}") from None
        if at < 0 or (at == 0 and name in ("server-error", "stall")):
            raise FaultSpecError(f"fault {name} cannot happen at position {at}")
        code: int | None = None
        if value:
            if name not in ("throttle", "close"):
                raise FaultSpecError(f"fault {name} takes no value: {spec!r}")
            try:
                code = int(value)
            except ValueError:
                raise FaultSpecError(f"a close code is a number: {spec!r}") from None
        plan.at[at] = Action(name, code)
    return plan


class FaultQueue:
    """Faults queued through the Python API, consumed by the next connections in order;
    and faults for the next response of any connection already open (``strike``)."""

    def __init__(self) -> None:
        self._queue: deque[list[str]] = deque()
        self._responses: deque[Action] = deque()

    def strike(self, spec: str) -> None:
        """The next response any connection starts (this one's or a later one's) suffers
        ``spec`` (``server-error``, ``stall``, ``reset``, ``close=1011``; no position)
        right after its first output."""
        action = parse([f"{spec}@1"]).at[1]
        if action.kind == "throttle":
            raise FaultSpecError("throttle refuses a response before it starts: inject it")
        self._responses.append(action)

    def struck(self) -> Action | None:
        return self._responses.popleft() if self._responses else None

    def add(self, *specs: str, connections: int = 1) -> None:
        parse(specs)  # fail fast on a typo, in the test that made it
        for _ in range(connections):
            self._queue.append(list(specs))

    def clear(self) -> None:
        self._queue.clear()
        self._responses.clear()

    def take(self) -> list[str]:
        return self._queue.popleft() if self._queue else []

    def __len__(self) -> int:
        return len(self._queue)
