"""--pin: the process under test and its children on CPUs of their own, the rest elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from bench import pinning

REPO = Path(__file__).resolve().parents[2]
CPUS = sorted(os.sched_getaffinity(0))


def test_split_gives_the_upper_half_to_the_process_under_test() -> None:
    assert pinning.split([1, 0]) == ({0}, {1})
    assert pinning.split(range(4)) == ({0, 1}, {2, 3})
    assert pinning.split([0, 2, 5]) == ({0}, {2, 5})
    with pytest.raises(ValueError, match="at least 2 CPUs"):
        pinning.split([3])


def test_nothing_pinned_means_no_preexec() -> None:
    assert pinning.on(None) is None


@pytest.mark.skipif(len(CPUS) < 2, reason="needs 2 CPUs to pin apart")
def test_a_pinned_child_and_what_it_forks_run_on_the_chosen_cpus() -> None:
    chosen = frozenset({CPUS[-1]})
    script = (
        "import os, sys\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    print(sorted(os.sched_getaffinity(0)), flush=True)\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "print(sorted(os.sched_getaffinity(0)), flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        preexec_fn=pinning.on(chosen),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stdout.split("\n")[:2] == [str([CPUS[-1]])] * 2
    assert os.sched_getaffinity(0) == set(CPUS)  # the parent stays where it was


def test_pin_on_one_cpu_is_a_clear_cli_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--pin", "-n", "1", "--seconds", "1"],
        cwd=REPO,
        preexec_fn=pinning.on(frozenset({CPUS[0]})),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--pin needs at least 2 CPUs to split" in done.stderr
