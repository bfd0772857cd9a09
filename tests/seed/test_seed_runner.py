"""``tests/seed/run.py``: a seed program, unmodified on disk, dials the port given by
``RTCORE_PORT`` or ``PORT``, the variables ``rtcore serve`` reads."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.seed.test_seed_text import CONFIG, PROGRAM
from tests.transports.process import Served

RUNNER = Path(__file__).parent / "run.py"
REPLY = "Connected: session.created\nYou said: Hello!\n✓ Complete\n"


def run(program: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("RTCORE_PORT", "PORT")}
    return subprocess.run(
        [sys.executable, str(RUNNER), str(program)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**clean, **env},
        check=False,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    config = tmp_path_factory.mktemp("runner") / "config.yaml"
    config.write_text(CONFIG)
    with Served("--config", str(config)) as server:
        yield server


@pytest.mark.parametrize("variable", ["RTCORE_PORT", "PORT"])
def test_the_program_dials_the_port_of_the_variable(served: Served, variable: str) -> None:
    result = run(PROGRAM, **{variable: str(served.port)})
    assert result.returncode == 0, result.stderr
    assert result.stdout == REPLY


def test_rtcore_port_wins_over_port(served: Served) -> None:
    # As in rtcore serve: its own variable first.
    result = run(PROGRAM, RTCORE_PORT=str(served.port), PORT="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout == REPLY


def test_a_port_that_is_not_a_number_is_refused() -> None:
    result = run(PROGRAM, PORT="http")
    assert result.returncode == 1
    assert result.stderr == "run.py: PORT='http' is not a port number\n"


def test_a_program_that_does_not_dial_the_seed_url_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.py"
    other.write_text("print('hello')\n")
    result = run(other, PORT="4100")
    assert result.returncode == 1
    assert "does not dial ws://localhost:4000/ once" in result.stderr


def test_a_traceback_points_at_the_program_s_own_lines(tmp_path: Path) -> None:
    program = tmp_path / "broken.py"
    program.write_text("URL = 'ws://localhost:4000/v1/realtime'\n\nraise RuntimeError(URL)\n")
    result = run(program, PORT="4100")
    assert f'File "{program}", line 3' in result.stderr
    assert "RuntimeError: ws://localhost:4100/v1/realtime" in result.stderr
