"""``python -m bench.session_memory``: a session's heap, counted as sessions speak (two
sessions, three cycles), so the figure docs/performance.md quotes never rots.

What a session keeps is counted by audio position, not by time: with the replay ring
trimmed to what a replay can ask for, a session holds far less than the ring's ten
seconds of audio (320 KB), which an untrimmed ring alone would hold by now."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_session_keeps_less_than_the_replay_window() -> None:
    command = [sys.executable, "-m", "bench.session_memory", "2", "3"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    first = done.stdout.splitlines()[0]
    assert first.startswith("2 sessions: heap per session ")
    mean = float(first.split("session ")[1].split(" KiB")[0])
    assert 20 < mean < 250, first
    assert "kit/audio/input_audio.py" in done.stdout  # the by-file table
