"""``--pin``: the process under test on CPUs of its own, the apparatus on the others.

On a small machine the emulator and the load generator compete with the gateway for the
same cores, and a late chunk cannot say whose fault it was. Pinned, the gateway (for
direct, the SDK client itself) has the upper half of the CPUs to itself and the emulator
and load generator share the lower half, so its figures are its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import NamedTuple


class Pinning(NamedTuple):
    apparatus: frozenset[int]
    under_test: frozenset[int]


def split(cpus: Iterable[int]) -> Pinning:
    ordered = sorted(set(cpus))
    if len(ordered) < 2:
        raise ValueError(f"--pin needs at least 2 CPUs to split, this process may use {ordered}")
    half = len(ordered) // 2
    return Pinning(frozenset(ordered[:half]), frozenset(ordered[half:]))


def apply(pinning: Pinning) -> None:
    """Move this process (and so every child it starts from now on) to the apparatus."""
    os.sched_setaffinity(0, pinning.apparatus)


def on(cpus: frozenset[int] | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that moves a child to ``cpus`` before it runs anything (so the
    workers a gateway forks inherit them), or None when nothing is pinned."""
    if cpus is None:
        return None
    chosen = set(cpus)
    return lambda: os.sched_setaffinity(0, chosen)
