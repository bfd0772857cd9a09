"""The fast run and the full run (tests/conftest.py, tests/full_only.txt): every file the list
keeps out of the fast run exists, and a plain ``pytest`` leaves those files out while
``pytest --full`` and a run naming them keep them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import full_only

ROOT = Path(__file__).resolve().parents[2]


def test_every_file_the_list_names_is_a_test_file() -> None:
    listed = full_only()
    assert listed
    assert sorted(p for p in listed if not (ROOT / p).is_file()) == []
    assert all(Path(p).name.startswith("test_") for p in listed)


def _collected(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return {line.split("::", 1)[0] for line in done.stdout.splitlines() if "::" in line}


def test_the_fast_run_leaves_the_listed_files_out_and_the_full_run_keeps_them() -> None:
    listed = full_only()
    fast = _collected()
    full = _collected("--full")
    assert fast
    assert not fast & listed
    assert listed <= full
    assert fast <= full
    named = sorted(listed)[0]
    assert _collected(named) == {named}
