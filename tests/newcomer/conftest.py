"""A newcomer's machine: a fresh clone of this repository, set up with the README's own
command (``make serve``), serving.

The clone is of the repository as it is on disk: ``git clone``, then the working tree's
uncommitted changes and new files laid over it, so that what is tested is what is being
changed (in CI, a clean checkout, the two are the same). Its venv is installed by
``make serve`` itself, verbatim: packages come from the package index through pip's own
cache, warm once ``make test`` has installed the same ones, so the install takes about a
minute and proves what a newcomer's does.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.transports.process import LISTENING

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
# The README's commands, as it shows them (4100: its example of another port).
SERVE = "make serve PORT=4100"
RUN_SEED = "PORT=4100 .venv/bin/python tests/seed/run.py tests/seed/text_chat.py"
# What a fresh shell has not: the suite's own venv, the make that runs the suite (its flags
# and command-line variables), a port chosen elsewhere, AWS credentials.
NOT_ON_A_FRESH_MACHINE = re.compile(
    r"VIRTUAL_ENV|PYTHONPATH|PYTHONHOME|MAKEFLAGS|MFLAGS|MAKELEVEL|MAKEOVERRIDES|"
    r"RTCORE_PORT|PORT|RTCORE_MASTER_KEY|LITELLM_MASTER_KEY|DATABASE_URL|AWS_.*"
)
# The longest the README's set-up may take (install and start), a safety net only.
SET_UP_SECONDS = 900


def fresh_environment(home: Path) -> dict[str, str]:
    """The environment of a new terminal on a machine with no AWS account: rtcore's
    caches and data in ``home``, pip's cache where it already is (warm)."""
    pip_cache = subprocess.run(
        [sys.executable, "-m", "pip", "cache", "dir"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    env = {k: v for k, v in os.environ.items() if not NOT_ON_A_FRESH_MACHINE.fullmatch(k)}
    home.mkdir(parents=True, exist_ok=True)
    return {
        **env,
        "PIP_CACHE_DIR": pip_cache,
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def clone_as_on_disk(target: Path) -> None:
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, timeout=300)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    on_disk = {name for name in listed.split("\0") if name}
    for name in on_disk:
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
        elif not source.exists():  # deleted, not yet committed
            (target / name).unlink(missing_ok=True)


@pytest.fixture(scope="package")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("newcomer") / "rtcore"
    clone_as_on_disk(target)
    return target


@dataclass
class MakeServe:
    """``make serve PORT=0`` in the clone: its port (read from rtcore's log) and output."""

    clone: Path
    env: dict[str, str]
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def output(self) -> str:
        return "".join(self.lines)

    @property
    def venv_bin(self) -> Path:
        return self.clone / ".venv" / "bin"


@pytest.fixture(scope="package")
def make_serve(clone: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeServe]:
    """The README's set-up on the clone: ``make serve`` with the port given through the
    documented variable (0: a free one, which the log names), left serving."""
    env = fresh_environment(tmp_path_factory.mktemp("newcomer-home"))
    proc = subprocess.Popen(
        SERVE.replace("PORT=4100", "PORT=0").split(),
        cwd=clone,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group: Ctrl-C reaches make and rtcore alike
    )
    served = MakeServe(clone=clone, env=env, proc=proc)
    listening = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            served.lines.append(line)
            if (match := LISTENING.search(line)) and not served.port:
                served.port = int(match.group(2))
                listening.set()
        listening.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        listening.wait(SET_UP_SECONDS)
        assert served.port, f"make serve did not start serving:\n{served.output}"
        yield served
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # as the user stops it: Ctrl-C
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        reader.join(10)
        if proc.stdout is not None:
            proc.stdout.close()
