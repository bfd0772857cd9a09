"""``python -m bench --out`` is checked before the run: a path it cannot write fails at
once with the reason, instead of after minutes of benchmarking, losing them."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_an_unwritable_out_fails_before_anything_runs(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = blocker / "results.json"  # its parent is a file: cannot be created
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--out", str(out), "--seconds", "60", "--sessions", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode != 0
    assert f"cannot write --out {out}" in result.stderr
    assert time.monotonic() - started < 20  # no 60-second phase ran first
    assert "sessions for" not in result.stderr
