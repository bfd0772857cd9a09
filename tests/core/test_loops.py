"""Which event loop ``rtcore serve`` runs on: uvloop when installed, asyncio on request."""

from __future__ import annotations

import asyncio
import sys

import pytest

from rtcore import loops
from rtcore.serve_settings import ServeError
from tests.transports.process import Served, rtcore
from tests.transports.test_serve_e2e import streamed_text, text_turn


async def _name() -> str:
    return loops.loop_name(asyncio.get_running_loop())


def test_auto_and_uvloop_run_on_uvloop_when_it_is_installed() -> None:
    pytest.importorskip("uvloop")
    assert loops.run(_name(), "auto") == "uvloop"
    assert loops.run(_name(), "uvloop") == "uvloop"


def test_asyncio_runs_on_asyncio_s_own_loop() -> None:
    assert loops.loop_factory("asyncio") is None
    assert loops.run(_name(), "asyncio") == "asyncio"


def test_without_uvloop_auto_falls_back_and_uvloop_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now fails
    assert loops.run(_name(), "auto") == "asyncio"
    with pytest.raises(ServeError, match=r"uvloop is not installed \(pip install uvloop\)"):
        loops.run(_name(), "uvloop")


def test_an_unknown_loop_is_refused_without_leaking_the_coroutine() -> None:
    coroutine = _name()
    with pytest.raises(ServeError, match="--loop must be one of auto, uvloop, asyncio"):
        loops.run(coroutine, "trio")
    assert coroutine.cr_frame is None  # closed: no "never awaited" warning later


@pytest.mark.parametrize("choice", ["asyncio", "uvloop"])
async def test_serve_runs_a_turn_on_the_chosen_loop(choice: str) -> None:
    if choice == "uvloop":
        pytest.importorskip("uvloop")
    with Served("--provider", "echo", "--loop", choice, "--log-level", "debug") as served:
        assert streamed_text(await text_turn(served.url("echo"))) == "You said: Hello!"
        assert served.stop() == 0
    assert f"event loop: {choice}" in served.stderr


def test_the_cli_refuses_an_unknown_loop() -> None:
    done = rtcore("serve", "--provider", "echo", "--loop", "trio")
    assert done.returncode == 2
    assert "--loop: invalid choice: 'trio'" in done.stderr
