"""Where the suite's time goes, by test file, from a JUnit XML report of a full run
(``python -m pytest --full --junitxml=times.xml``): ``python tools/suite_times.py times.xml``
prints each file's seconds, largest first, and marks those tests/full_only.txt keeps out
of the fast run; the fast run's total is the sum of the unmarked ones."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FULL_ONLY = ROOT / "tests" / "full_only.txt"


def file_seconds(report: Path) -> dict[str, float]:
    """Seconds per test file (a test case's ``classname`` is its module, dotted, then its
    class if any)."""
    seconds: dict[str, float] = defaultdict(float)
    for case in ET.parse(report).getroot().iter("testcase"):
        parts = case.get("classname", "").split(".")
        # The module is the longest dotted prefix that is a file.
        for cut in range(len(parts), 0, -1):
            path = "/".join(parts[:cut]) + ".py"
            if (ROOT / path).is_file():
                seconds[path] += float(case.get("time", "0"))
                break
    return dict(seconds)


def full_only() -> set[str]:
    if not FULL_ONLY.exists():
        return set()
    lines = (line.split("#", 1)[0].strip() for line in FULL_ONLY.read_text().splitlines())
    return {line for line in lines if line}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    seconds = file_seconds(Path(argv[0]))
    kept_out = full_only()
    fast = sum(s for f, s in seconds.items() if f not in kept_out)
    for path, s in sorted(seconds.items(), key=lambda item: -item[1]):
        print(f"{s:8.1f}  {'full ' if path in kept_out else 'fast '} {path}")
    print(f"{sum(seconds.values()):8.1f}  all;  {fast:.1f} s in the fast run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
