"""Each contract test written for a bug a real provider had fails on the echo provider
seeded with that bug (seeded_bugs.py), and passes on the echo provider itself; and the
contract runs under pytest-asyncio's strict mode as under its auto mode.

The contract runs in a pytest of its own (a subprocess), as a provider's test suite
would run it."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

HERE = Path(__file__).parent

# The bug seeded, and the contract test that must catch it.
CAUGHT_BY = {
    "TranscribesOnlyWhenAsked": (
        "test_push_to_talk_transcribes_the_commit_before_the_response_is_asked"
    ),
    "ToolResultToTheWrongConnection": "test_a_tool_result_reaches_the_model_across_a_reconnection",
    "NoAudioTokens": "test_usage_counts_what_went_in_and_came_out",
    "LosesAudioWhileReconnecting": "test_a_reconnection_mid_utterance_loses_no_audio",
    "AsideLeftInContext": "test_an_out_of_band_response_leaves_nothing_in_the_models_context",
    "CancelledReplyGoesOn": "test_cancel_stops_the_upstream_and_the_next_reply_comes_promptly",
    "SpokenOverTurnUnanswered": (
        "test_speech_during_a_reply_with_interrupt_response_false_is_answered_after_it"
    ),
    "HangsWhenUnreachable": "test_an_unreachable_upstream_is_reported_not_waited_for",
}

CONTRACTS = """
import pytest
from echo_harness import silence, tone

from rtcore.provider import ModelConfig, Provider
from rtcore.testing import Driver, ProviderContract, Speech
from rtcore_echo import EchoProvider
from rtcore_echo.session import EchoSession
from seeded_bugs import BUGS, HangsWhenUnreachable, SeededProvider

PACED = ModelConfig(name="echo", provider="echo", model="echo-1", params={"chunk_delay_ms": 10})
DOWN = ModelConfig(name="echo", provider="echo", model="echo-1", params={"unavailable": "down"})


async def reconnect(driver: Driver) -> None:
    assert isinstance(driver.session, EchoSession)
    await driver.session.reconnect()


class Seeded(ProviderContract):
    within = 8.0
    bug = ""

    @pytest.fixture
    def contract_provider(self) -> Provider:
        if self.bug in BUGS:
            return SeededProvider(PACED, BUGS[self.bug])
        return EchoProvider(PACED)

    @pytest.fixture
    def contract_speech(self) -> Speech:
        return Speech(turn=tone(600) + silence(700))

    @pytest.fixture
    def contract_reconnect(self):
        return reconnect

    @pytest.fixture
    def contract_unreachable(self) -> Provider:
        hangs = self.bug == "HangsWhenUnreachable"
        return HangsWhenUnreachable(DOWN) if hangs else EchoProvider(DOWN)
"""


def run_pytest(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent.parent)])}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], str]:
    """Each seeded provider run against the test meant for its bug, and the echo provider
    against all of them: (class, test) -> passed / failed / skipped / error."""
    where = tmp_path_factory.mktemp("seeded")
    classes = [CONTRACTS]
    for bug in [*CAUGHT_BY, "Echo"]:
        classes.append(f"\nclass Test{bug}(Seeded):\n    bug = {bug!r}\n")
    (where / "test_seeded.py").write_text("".join(classes))
    nodes = [f"test_seeded.py::Test{bug}::{test}" for bug, test in CAUGHT_BY.items()]
    nodes += [f"test_seeded.py::TestEcho::{test}" for test in CAUGHT_BY.values()]
    report = where / "report.xml"
    done = run_pytest(["-o", "asyncio_mode=strict", f"--junitxml={report}", *nodes], where)
    assert report.exists(), done.stdout + done.stderr
    found: dict[tuple[str, str], str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome = "passed"
        for kind in ("failure", "error", "skipped"):
            if case.find(kind) is not None:
                outcome = {"failure": "failed"}.get(kind, kind)
        found[(case.get("classname", "").rsplit(".", 1)[-1], case.get("name", ""))] = outcome
    return found


@pytest.mark.parametrize(("bug", "test"), list(CAUGHT_BY.items()))
def test_the_contract_test_fails_on_a_provider_seeded_with_its_bug(
    outcomes: dict[tuple[str, str], str], bug: str, test: str
) -> None:
    assert outcomes[(f"Test{bug}", test)] == "failed"
    assert outcomes[("TestEcho", test)] == "passed"  # the same test, the bug not seeded


def test_the_echo_contract_runs_in_pytest_asyncios_strict_mode(tmp_path: Path) -> None:
    done = run_pytest(
        ["-o", "asyncio_mode=strict", str(HERE / "test_echo_contract.py")], HERE.parent.parent
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout
    assert "skipped" not in done.stdout
    assert "error" not in done.stdout
