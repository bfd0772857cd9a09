"""Every command README.md and docs/*.md show that runs rtcore, run as written on a
newcomer's machine: the fresh clone ``make serve`` set up (``conftest.py``), its venv's
``bin`` first on the PATH, no AWS account, rtcore's caches and data in a folder of the test.

Each command is looked up in ``HOW``, which says what it must do: serve (listen, then
answer a typed turn, or, needing AWS, start and say what is missing), answer a stdio
session, print what its page shows it printing. Those not run say why (``Skip``). A command
the pages show that ``HOW`` does not know fails, as does an entry of ``HOW`` no page shows:
a page that changes is looked at again.

Serving commands get their port from ``RTCORE_PORT`` (0: a free one, which the log names),
the variable rtcore documents, so each runs as written. A ``config.yaml`` a command names is
the config its page shows above it (else the README's, the seed's), written where the
command runs. The lines configuration.md shows under "Errors" are each produced by a file.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
from websockets.asyncio.client import connect

from tests.newcomer.conftest import ROOT, MakeServe
from tests.newcomer.doc_blocks import RUNS_RTCORE, Command, commands, config_before
from tests.transports.process import LISTENING

pytestmark = pytest.mark.slow

SUITE_BIN = Path(sys.executable).parent
SHOWN = commands(ROOT)
TURN = [
    {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Hello!"}],
        },
    },
    {"type": "response.create", "response": {"modalities": ["text"]}},
]


@dataclass(frozen=True)
class Serve:
    """A server: it listens, then answers a typed turn on ``model``. ``needs_aws``: with no
    AWS account it cannot answer; it must start and say what is missing and that
    ``--emulator`` serves without one. ``suite``: run where ``make test`` installed (the
    page has the reader install a plugin first)."""

    model: str = "bedrock-sonic"
    needs_aws: bool = False
    suite: bool = False


@dataclass(frozen=True)
class Stdio:
    """One stdio session: the typed turn on stdin, events on stdout to ``response.done``."""


@dataclass(frozen=True)
class Prints:
    """Runs to its end (exit 0) printing ``stdout``; ``needs``: a program it pipes into."""

    stdout: str
    needs: str = ""


@dataclass(frozen=True)
class PrintsThenServes:
    """Prints what its page shows (``/home/me/.cache`` standing for the cache folder),
    then keeps running until stopped; ``port``: the port it must find free."""

    port: int


@dataclass(frozen=True)
class Skip:
    reason: str


type How = Serve | Stdio | Prints | PrintsThenServes | Skip

HOW: dict[tuple[str, str], How] = {
    ("README.md", "make serve"): Skip(
        "test_fresh_clone.py runs it (make serve PORT=…) on a fresh clone: this machine's set-up"
    ),
    ("README.md", "make test"): Skip("the suite this test is part of; CI runs it (.ci/run)"),
    ("README.md", ".venv/bin/rtcore serve --provider bedrock-sonic"): Serve(needs_aws=True),
    ("README.md", ".venv/bin/rtcore serve --config config.yaml --emulator"): Serve(),
    ("docs/cli.md", "rtcore plugins"): Prints(stdout="(as shown)"),
    ("docs/configuration.md", "rtcore serve --provider bedrock-sonic --emulator"): Serve(),
    ("docs/configuration.md", "rtcore serve --provider bedrock-sonic"): Serve(needs_aws=True),
    ("docs/configuration.md", "rtcore serve --provider gemini-live --emulator"): Serve(
        model="gemini-live"
    ),
    ("docs/providers/gemini-live.md", "rtcore serve --provider gemini-live --emulator"): Serve(
        model="gemini-live"
    ),
    ("docs/configuration.md", "rtcore serve --provider openai-realtime --emulator"): Serve(
        model="openai-realtime"
    ),
    ("docs/providers/gemini-live.md", "GEMINI_API_KEY=... rtcore serve --provider gemini-live"): (
        Skip("needs a Gemini API key and Google's servers (the line above runs the emulator)")
    ),
    ("docs/performance.md", "python"): Skip(
        "a benchmark: minutes of every core for the page's numbers; tests/bench/test_smoke.py "
        "runs python -m bench's short form, tests/bench/test_session_memory.py "
        "bench.session_memory's"
    ),
    ("docs/emulator.md", "rtcore emulator --port 8443"): PrintsThenServes(port=8443),
    ("docs/emulator.md", "rtcore gemini-emulator --port 8444"): PrintsThenServes(port=8444),
    ("docs/emulator.md", "rtcore openai-emulator --port 8445"): PrintsThenServes(port=8445),
    ("docs/transports.md", "rtcore serve --config config.yaml"): Serve(needs_aws=True),
    ("docs/transports.md", "rtcore serve --transport stdio --provider bedrock-sonic --emulator"): (
        Stdio()
    ),
    (
        "docs/transports.md",
        "rtcore serve --transport stdio --config config.yaml --model bedrock-sonic --emulator",
    ): Stdio(),
    ("docs/transports.md", "printf"): Prints(stdout="You said: Hello!\n", needs="jq"),
    ("docs/writing-a-provider.md", "rtcore serve --provider echo"): Serve(model="echo", suite=True),
}


def how(command: Command) -> How | None:
    # A pipeline is known by its first word; a command by all of it.
    return HOW.get((command.page, command.text)) or HOW.get((command.page, command.text.split()[0]))


def test_every_command_shown_is_known_and_every_known_one_shown() -> None:
    unknown = [f"{c.where}: {c.text}" for c in SHOWN if how(c) is None]
    assert unknown == [], "commands the pages show that HOW does not say how to check"
    shown = {(c.page, c.text) for c in SHOWN} | {(c.page, c.text.split()[0]) for c in SHOWN}
    assert [key for key in HOW if key not in shown] == [], "HOW entries no page shows"


@pytest.mark.parametrize(
    ("line", "runs"),
    [
        ("GEMINI_API_KEY=... rtcore serve --provider gemini-live", True),
        ("A=1 B=2 .venv/bin/rtcore plugins", True),
        ("printf x | RTCORE_PORT=0 rtcore serve --transport stdio", True),
        ("python -m bench -n 2 --seconds 6", True),
        ("PORT=4100 .venv/bin/python tests/seed/run.py tests/seed/text_chat.py", False),
        ("cd rtcore", False),
        ("pip install rtcore-echo", False),
    ],
)
def test_a_command_run_with_variables_or_by_the_benchmark_counts(line: str, runs: bool) -> None:
    assert bool(RUNS_RTCORE.search(line)) is runs


@dataclass
class Place:
    """Where a command runs: its folder, environment and the venv it finds first."""

    cwd: Path
    env: dict[str, str]


@pytest.fixture
def place(make_serve: MakeServe, tmp_path: Path) -> Place:
    env = {
        **make_serve.env,
        "PATH": f"{make_serve.venv_bin}{os.pathsep}{os.environ['PATH']}",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "HOME": str(tmp_path / "home"),  # no ~/.aws
    }
    (tmp_path / "home").mkdir()
    # README's commands name .venv/bin/rtcore: they run at the clone's top, as its reader.
    return Place(cwd=make_serve.clone, env=env)


def prepare(command: Command, place: Place, how: How) -> None:
    if "config.yaml" in command.text:
        (place.cwd / "config.yaml").write_text(config_before(command, ROOT))
    if isinstance(how, Serve) and how.suite:
        place.env["PATH"] = f"{SUITE_BIN}{os.pathsep}{os.environ['PATH']}"


class Running:
    """A command started in a shell of its own process group, its output read as it
    comes."""

    def __init__(self, command: str, place: Place, **env: str) -> None:
        self.proc = subprocess.Popen(
            ["bash", "-c", command],
            cwd=place.cwd,
            env={**place.env, **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str] | None, into: list[str]) -> None:
        assert stream is not None
        for line in stream:
            into.append(line)

    async def until(self, found: str, seconds: float = 120) -> str:
        """The first output line containing ``found`` (stderr or stdout)."""
        async with asyncio.timeout(seconds):
            while True:
                for line in (*self.err, *self.out):
                    if found in line:
                        return line
                if self.proc.poll() is not None:
                    raise AssertionError(f"it exited ({self.proc.returncode}):\n{self.log}")
                await asyncio.sleep(0.05)

    @property
    def log(self) -> str:
        return "".join(self.err) + "".join(self.out)

    def stop(self) -> int:
        """Ctrl-C, as its reader stops it; the exit code."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            code = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            code = self.proc.wait(10)
        for reader in self._readers:
            reader.join(10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return code


async def typed_turn(port: int, model: str) -> dict[str, object]:
    url = f"ws://127.0.0.1:{port}/v1/realtime?model={model}"
    async with connect(url, proxy=None) as ws:
        for event in TURN:
            await ws.send(json.dumps(event))
        async with asyncio.timeout(60):
            while (event := json.loads(await ws.recv()))["type"] != "response.done":
                pass
    return dict(event)


async def check_serve(command: Command, place: Place, how: Serve) -> None:
    running = Running(command.text, place, RTCORE_PORT="0")
    try:
        line = await running.until("listening on ws://", seconds=180)
        match = LISTENING.search(line)
        assert match is not None, line
        port = int(match.group(2))
        if how.needs_aws:
            said = await running.until("cannot serve sessions yet")
            assert " WARNING " in said
            assert "add --emulator to rtcore serve" in said, said
        else:
            done = await typed_turn(port, how.model)
            assert done["response"]["status"] == "completed", done  # type: ignore[index]
    finally:
        code = await asyncio.to_thread(running.stop)
    assert code == 0, running.log
    assert "Traceback" not in running.log


def check_stdio(command: Command, place: Place) -> None:
    result = subprocess.run(
        ["bash", "-c", command.text],
        cwd=place.cwd,
        env=place.env,
        input="".join(json.dumps(event) + "\n" for event in TURN),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[-1]["type"] == "response.done", result.stdout
    assert events[-1]["response"]["status"] == "completed"
    text = "".join(e["delta"] for e in events if e["type"] == "response.text.delta")
    assert text == "You said: Hello!"


def check_prints(command: Command, place: Place, how: Prints) -> None:
    if how.needs and shutil.which(how.needs) is None:
        pytest.skip(f"{how.needs} is not installed (Debian: apt-get install {how.needs})")
    # pipefail: a pipeline whose rtcore fails says so (the last program's status would not).
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command.text],
        cwd=place.cwd,
        env=place.env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    expected = "".join(f"{line}\n" for line in command.output) if command.output else how.stdout
    assert result.stdout == expected


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def check_prints_then_serves(command: Command, place: Place, how: PrintsThenServes) -> None:
    if not port_free(how.port):
        pytest.skip(f"port {how.port}, which the page's command binds, is in use here")
    running = Running(command.text, place)
    expected = [
        line.replace("/home/me/.cache", place.env["XDG_CACHE_HOME"]) for line in command.output
    ]
    try:
        await running.until(expected[-1].split(":", 1)[0] + ":")
    finally:
        code = await asyncio.to_thread(running.stop)
    assert [line.rstrip("\n") for line in running.out] == expected
    assert code == 0, running.log


@pytest.mark.parametrize("command", SHOWN, ids=[c.where for c in SHOWN])
async def test_the_command_works_as_written(command: Command, place: Place) -> None:
    check = how(command)
    assert check is not None, f"{command.where}: {command.text}: not in HOW"
    prepare(command, place, check)
    match check:
        case Skip(reason):
            pytest.skip(f"{command.where}: {reason}")
        case Serve():
            await check_serve(command, place, check)
        case Stdio():
            await asyncio.to_thread(check_stdio, command, place)
        case Prints():
            await asyncio.to_thread(check_prints, command, place, check)
        case PrintsThenServes():
            await check_prints_then_serves(command, place, check)


# The files that bring about each line configuration.md shows under "Errors", by key path.
ERRORS = {
    "model_list[0].litellm_params.model": (
        "model_list:\n  - model_name: voice\n    litellm_params:\n"
        "      model: mistral/voxtral-mini-realtime\n"
    ),
    "model_list[0].litellm_params": (
        "model_list:\n  - model_name: voice\n    litelm_params:\n"
        "      model: bedrock/amazon.nova-2-sonic-v1:0\n"
    ),
    "general_settings.master_kye": (
        "model_list:\n  - model_name: voice\n    litellm_params:\n"
        "      model: bedrock/amazon.nova-2-sonic-v1:0\n"
        "general_settings:\n  master_kye: os.environ/RTCORE_MASTER_KEY\n"
    ),
    "model_list[0].litellm_params.aws_secret_access_key": (
        "model_list:\n  - model_name: voice\n    litellm_params:\n"
        "      model: bedrock/amazon.nova-2-sonic-v1:0\n"
        "      aws_secret_access_key: os.environ/AWS_SECRET\n"
    ),
    "line 3, column 1": 'model_list:\n  - model_name: "bedrock-sonic\n',
}


def shown_errors() -> list[str]:
    page = (ROOT / "docs" / "configuration.md").read_text()
    errors = page.split("\n## Errors\n", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    return errors.splitlines()


def test_configuration_errors_are_what_rtcore_says(make_serve: MakeServe, tmp_path: Path) -> None:
    shown = shown_errors()
    assert len(shown) == len(ERRORS)
    for line in shown:
        prefix = "rtcore serve: error: config.yaml: "
        assert line.startswith(prefix), line
        key = next((k for k in ERRORS if line[len(prefix) :].startswith(k + ":")), None)
        assert key is not None, f"no file in ERRORS brings about: {line}"
        (tmp_path / "config.yaml").write_text(ERRORS[key])
        result = subprocess.run(
            [str(make_serve.venv_bin / "rtcore"), "serve", "--config", "config.yaml"],
            cwd=tmp_path,
            env=make_serve.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 2
        assert result.stderr == line + "\n"
