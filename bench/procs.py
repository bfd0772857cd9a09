"""CPU time and memory of running processes, read from /proc (Linux)."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of ``pid``, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def family(roots: list[int]) -> list[int]:
    """``roots`` and all their descendants that are alive."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                parents[int(entry.name)] = stat[0]
    found = {r for r in roots if r in parents}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in found and pid not in found:
                found.add(pid)
                grew = True
    return sorted(found)


@dataclass(frozen=True)
class Resources:
    """What a process holds now: threads (``/proc/PID/task``), open file descriptors
    (``/proc/PID/fd``) and resident memory (bytes)."""

    threads: int
    fds: int
    rss: int

    def __str__(self) -> str:
        return f"{self.threads} threads, {self.fds} fds, {self.rss / 2**20:.1f} MB"


def resources(pid: int) -> Resources:
    return Resources(
        threads=len(os.listdir(f"/proc/{pid}/task")),
        fds=len(os.listdir(f"/proc/{pid}/fd")),
        rss=_rss(pid),
    )


@dataclass
class Sample:
    at: float  # time.monotonic()
    cpu: float  # CPU seconds of the whole family so far
    rss: int  # bytes, summed over the family


def sample(roots: list[int]) -> Sample:
    cpu, rss = 0.0, 0
    for pid in family(roots):
        stat = _stat(pid)
        if stat is not None:
            cpu += stat[1]
            rss += _rss(pid)
    return Sample(time.monotonic(), cpu, rss)


@dataclass
class Sampler:
    """Samples named process families every ``interval`` seconds while running."""

    groups: dict[str, list[int]]
    interval: float = 0.25
    samples: dict[str, list[Sample]] = field(default_factory=dict)

    async def run(self) -> None:
        while True:
            for name, roots in self.groups.items():
                self.samples.setdefault(name, []).append(sample(roots))
            await asyncio.sleep(self.interval)

    def window(self, name: str, start: float, end: float) -> tuple[float, float, int]:
        """(CPU seconds, wall seconds, peak RSS) of a family between ``start`` and ``end``,
        from the samples closest inside the window."""
        rows = [s for s in self.samples.get(name, []) if start <= s.at <= end]
        if len(rows) < 2:
            return 0.0, 0.0, 0
        return rows[-1].cpu - rows[0].cpu, rows[-1].at - rows[0].at, max(s.rss for s in rows)

    def timeline(
        self, name: str, start: float, end: float, every: float
    ) -> list[tuple[float, float]]:
        """(seconds into the window, RSS in MB) about every ``every`` seconds."""
        rows = [s for s in self.samples.get(name, []) if start <= s.at <= end]
        out: list[tuple[float, float]] = []
        for row in rows:
            if not out or row.at - start >= out[-1][0] + every:
                out.append((round(row.at - start, 1), round(row.rss / 2**20, 1)))
        return out

    def before(self, name: str, start: float) -> int:
        """RSS of a family in its last sample before ``start`` (its idle size)."""
        rows = [s for s in self.samples.get(name, []) if s.at < start]
        return rows[-1].rss if rows else 0
