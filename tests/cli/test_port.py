"""The port ``rtcore serve`` binds: ``--port``, else ``RTCORE_PORT``, else ``PORT`` (as
LiteLLM's proxy reads it), else 4000."""

from __future__ import annotations

import os
import subprocess
import threading

import pytest

from rtcore.serve_command import _port
from rtcore.serve_settings import ServeError
from tests.transports.process import LISTENING, RTCORE, rtcore


@pytest.fixture
def no_port_variables(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("RTCORE_PORT", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    return monkeypatch


def test_the_flag_wins_then_rtcore_port_then_port(no_port_variables: pytest.MonkeyPatch) -> None:
    assert _port(None) == 4000
    no_port_variables.setenv("PORT", "4200")
    assert _port(None) == 4200
    no_port_variables.setenv("RTCORE_PORT", "4100")
    assert _port(None) == 4100
    assert _port(4300) == 4300
    assert _port(0) == 0
    # Set but empty counts as unset, as for the master key.
    no_port_variables.setenv("RTCORE_PORT", " ")
    assert _port(None) == 4200


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RTCORE_PORT", "http", "RTCORE_PORT='http' is not a port number (0-65535)"),
        ("PORT", "-1", "PORT='-1' is not a port number (0-65535)"),
        ("PORT", "70000", "PORT='70000' is not a port number (0-65535)"),
    ],
)
def test_a_variable_that_is_no_port_is_refused(
    no_port_variables: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    no_port_variables.setenv(name, value)
    with pytest.raises(ServeError) as info:
        _port(None)
    assert str(info.value) == message


def test_a_flag_out_of_range_is_refused() -> None:
    with pytest.raises(ServeError, match=r"^--port 65536 is out of range 0-65535$"):
        _port(65536)


def test_serve_refuses_a_bad_variable_before_it_listens() -> None:
    result = rtcore("serve", "--provider", "bedrock-sonic", env={"RTCORE_PORT": "four"})
    assert result.returncode == 2
    assert result.stderr == (
        "rtcore serve: error: RTCORE_PORT='four' is not a port number (0-65535)\n"
    )


@pytest.mark.parametrize("name", ["RTCORE_PORT", "PORT"])
def test_serve_listens_on_the_port_of_the_variable(name: str) -> None:
    # Port 0 through the variable: a port of the system's choosing, never the default.
    env = {k: v for k, v in os.environ.items() if k not in ("RTCORE_PORT", "PORT")}
    proc = subprocess.Popen(
        [RTCORE, "serve", "--provider", "echo"],
        env={**env, name: "0"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    found: list[int] = []
    listening = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if (match := LISTENING.search(line)) and not found:
                found.append(int(match.group(2)))
                listening.set()
        listening.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert listening.wait(30), "".join(lines)
    finally:
        proc.terminate()
        proc.wait(15)
        reader.join(5)
        assert proc.stderr is not None
        proc.stderr.close()
    assert found, "".join(lines)
    assert found[0] not in (0, 4000)
