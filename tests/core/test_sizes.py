"""Module and function sizes held by tools/sizes.py: nothing new over 450 lines a module or
60 a function, and what is recorded as still too large never grows."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import sizes  # noqa: E402


def test_nothing_is_over_its_limit_beyond_the_recorded_debt() -> None:
    assert sizes.problems(sizes.measure(), sizes.debt()) == []


def test_a_new_long_function_or_a_grown_debt_is_caught() -> None:
    recorded = {"core/rtcore/x.py": 500}
    found = {"core/rtcore/x.py": 501, "core/rtcore/y.py::f": 61}
    assert sizes.problems(found, recorded) == [
        "core/rtcore/x.py: 501 lines, grown from 500",
        "core/rtcore/y.py::f: 61 lines (limit 60)",
    ]


def test_the_script_measures_the_code() -> None:
    # Decorators count with their function, nested functions and methods by their own
    # qualified names.
    source = "class A:\n    @staticmethod\n    def f():\n" + "        x = 1\n" * 60
    assert dict(sizes._functions(ast.parse(source))) == {"A.f": 62}
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "sizes.py")], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert "modules over 450 lines" in run.stdout
