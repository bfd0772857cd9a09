"""The grammar every emulator's faults are written in, ``name[=value][@n]``, and the queue of
faults a test asks for through the Python API.

What each name does, where it may happen and what its value means is each emulator's own (its
vendor's errors): here are only the reading of a spec and the wording of what is wrong with one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

# What a turn's first output runs (the faults set to strike right after it): given the
# turn's number.
type FirstOutputHook = Callable[[int], Awaitable[None]]


class FirstOutput:
    """Runs the first-output hook once per turn, however many outputs call it."""

    def __init__(self, hook: FirstOutputHook, number: int) -> None:
        self._hook = hook
        self._number = number
        self._done = False

    async def done(self) -> None:
        if not self._done:
            self._done = True
            await self._hook(self._number)


class FaultSpecError(ValueError):
    """A spec that names no fault or cannot happen where it says."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One spec as written (``text``, stripped) and its three parts, each ``""`` when absent."""

    text: str
    name: str
    value: str
    position: str

    def seconds(self) -> float:
        try:
            return float(self.value)
        except ValueError:
            raise FaultSpecError(
                f"{self.name} needs seconds, e.g. {self.name}=5: {self.text!r}"
            ) from None

    def at(self, default: int) -> int:
        """The position, ``default`` when the spec gives none."""
        try:
            return int(self.position) if self.position else default
        except ValueError:
            raise FaultSpecError(f"bad fault position in {self.text!r}") from None

    def close_code(self) -> int:
        try:
            return int(self.value)
        except ValueError:
            raise FaultSpecError(f"a close code is a number: {self.text!r}") from None

    def misplaced(self, at: int) -> FaultSpecError:
        return FaultSpecError(f"fault {self.name} cannot happen at position {at}")

    def valueless(self) -> FaultSpecError:
        return FaultSpecError(f"fault {self.name} takes no value: {self.text!r}")


def read_specs(specs: Iterable[str], names: Sequence[str]) -> Iterator[FaultSpec]:
    """Each non-blank spec of ``specs``, split; one naming none of ``names`` is an error."""
    for raw in specs:
        text = raw.strip()
        if not text:
            continue
        head, _, position = text.partition("@")
        name, _, value = head.partition("=")
        if name not in names:
            raise FaultSpecError(f"unknown emulator fault {name!r}; known: {', '.join(names)}")
        yield FaultSpec(text, name, value, position)


class Struck(Protocol):
    @property
    def kind(self) -> str: ...


class FaultQueue[ActionT: Struck]:
    """Faults queued through the Python API, consumed by the next connections in order; and
    faults struck into the next turn of any connection already open (``strike``).

    ``check`` parses specs only to raise on a bad one; ``struck_action`` makes the action a
    spec (no position) strikes with.
    """

    def __init__(
        self,
        check: Callable[[Iterable[str]], object],
        struck_action: Callable[[str], ActionT],
    ) -> None:
        self._check = check
        self._struck_action = struck_action
        self._queue: deque[list[str]] = deque()
        self._struck: deque[ActionT] = deque()

    def strike(self, spec: str) -> None:
        """The next turn any connection starts (this one's or a later one's) suffers
        ``spec`` (no position) right after its first output (``mute``: as soon as the turn
        is taken)."""
        self._struck.append(self._struck_action(spec))

    def struck(self, *, answering: bool = True) -> ActionT | None:
        """The next struck fault, if it strikes now: once the turn's first output is out
        (``answering``), or before the turn is answered (``mute``)."""
        if self._struck and (self._struck[0].kind == "mute") != answering:
            return self._struck.popleft()
        return None

    def add(self, *specs: str, connections: int = 1) -> None:
        self._check(specs)  # fail fast on a typo, in the test that made it
        for _ in range(connections):
            self._queue.append(list(specs))

    def clear(self) -> None:
        self._queue.clear()
        self._struck.clear()

    def take(self) -> list[str]:
        return self._queue.popleft() if self._queue else []

    def __len__(self) -> int:
        return len(self._queue)
