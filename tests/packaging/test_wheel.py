"""rtcore as a user installs it: the built wheel in a fresh virtual environment, run from
a directory that is not the repository, with the seed's config. Dependencies come from the
package index (pip's cache makes a second run quick)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.transports.process import LISTENING
from tests.transports.turns import send_turn, user_turn

ROOT = Path(__file__).resolve().parents[2]
SEED_CONFIG = ROOT / "tests" / "seed" / "config.yaml"
# pip reads no config but the user's; the suite's own environment stays out of it.
CLEAN = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}

pytestmark = pytest.mark.slow


def run(*argv: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=CLEAN,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, ROOT, cwd=out)
    assert built.returncode == 0, built.stderr
    (found,) = out.glob("rtcore-*.whl")
    return found


async def typed_turn(url: str) -> dict[str, Any]:
    async with connect(url, proxy=None) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        await send_turn(ws, user_turn())
        async with asyncio.timeout(30):
            while (event := json.loads(await ws.recv()))["type"] != "response.done":
                pass
    return dict(event)


def test_the_wheel_serves_the_seed_config_from_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    made = run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    pip, rtcore = venv / "bin" / "pip", venv / "bin" / "rtcore"
    installed = run(pip, "install", "-q", wheel, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr

    # The built-in plugins register through the wheel's entry points.
    plugins = json.loads(run(rtcore, "plugins", "--json", cwd=tmp_path).stdout)
    names = {p["name"] for p in plugins["plugins"]}
    assert {"bedrock-sonic", "sonic-emulator", "websocket", "stdio"} <= names
    assert plugins["broken"] == []

    # Without its extra, --emulator says what to install.
    config = tmp_path / "config.yaml"
    config.write_text(SEED_CONFIG.read_text())
    bare = run(rtcore, "serve", "--config", config, "--emulator", "--port", "0", cwd=tmp_path)
    assert bare.returncode != 0
    assert "rtcore[emulator]" in bare.stderr, bare.stderr

    installed = run(pip, "install", "-q", f"{wheel}[emulator]", cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    env = {
        **CLEAN,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    server = subprocess.Popen(
        [str(rtcore), "serve", "--config", str(config), "--emulator", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        port = 0
        lines: list[str] = []
        while not port:
            line = server.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
            if match := LISTENING.search(line):
                port = int(match.group(2))
        url = f"ws://127.0.0.1:{port}/v1/realtime?model=bedrock-sonic"
        event = asyncio.run(typed_turn(url))
        assert event["response"]["status"] == "completed", event
    finally:
        server.terminate()
        rest = server.communicate(timeout=30)
    log = "".join(lines) + rest[1]
    assert server.returncode == 0, log
    # The seed's retired model is served by its successor, and the log says why.
    assert "reached its end of life on 2026-09-14" in log
    assert "Traceback" not in log
