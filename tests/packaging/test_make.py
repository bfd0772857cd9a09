"""The README's two commands: ``make serve`` installs what serving needs and nothing of the
test tools; ``make test`` installs the rest. Read from make's own plan (``make -n``), which
runs nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def planned_installs(target: str) -> list[str]:
    plan = subprocess.run(
        ["make", "-n", "-B", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    return [line for line in plan.splitlines() if "pip install" in line]


def test_make_serve_installs_only_serving_dependencies() -> None:
    installs = planned_installs("serve")
    # The server, its emulator and what the seed's programs import (websockets).
    assert any("-e '.[emulator,examples]'" in line for line in installs), installs
    joined = " ".join(installs)
    for unwanted in ("test", "clients", "rtcore-echo"):
        assert unwanted not in joined, installs


def test_make_test_installs_the_test_tools_and_clients() -> None:
    joined = " ".join(planned_installs("test"))
    assert "'.[emulator,examples,test,clients]'" in joined
    assert "tests/plugins/rtcore-echo" in joined
