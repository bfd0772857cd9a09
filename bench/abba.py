"""Comparing two configurations in one run: phases in ABBA order, and the report.

The second phase of a pair runs a little dearer whatever it is (measured with both the
same), and a shared machine drifts over a run: alternating which goes first lets both
fall on each alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from bench import run


def phases(kinds: Sequence[str], rounds: int) -> Iterator[tuple[int, str]]:
    """(round, kind) in ABBA order: A B, then B A, ..."""
    for index in range(rounds):
        for kind in kinds if index % 2 == 0 else tuple(reversed(kinds)):
            yield index, kind


def report(
    args: argparse.Namespace,
    out: Path,
    rounds: int,
    figures: dict[str, list[float]],
    table: Callable[[dict[str, Any]], str],
    **extra: object,
) -> dict[str, Any]:
    """The medians of each kind's CPU per session-minute, written to ``out`` and printed."""
    medians = {f"median_{kind}": statistics.median(values) for kind, values in figures.items()}
    result: dict[str, Any] = {
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "machine": run.machine(),
        "sessions": args.sessions,
        "seconds": args.seconds,
        "rounds": rounds,
        "cpu_s_per_session_min": figures,
        **medians,
        **extra,
    }
    a, b = (medians[f"median_{kind}"] for kind in figures)
    result[f"ratio_{'_'.join(reversed(list(figures)))}"] = b / a if a else None
    out.write_text(json.dumps(result, indent=2))
    print(table(result))
    print(f"\nJSON: {out}")
    return result
