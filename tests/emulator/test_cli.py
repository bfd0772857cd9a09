"""The emulator as a process: ``python -m rtcore_sonic_emulator``, ``rtcore emulator``."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rtcore_sonic_emulator import make_client, utterance_pcm
from tests.emulator.conftest import V2
from tests.emulator.sdk_stream import SonicStream

RTCORE = shutil.which("rtcore", path=str(Path(sys.executable).parent))


async def start(command: list[str]) -> tuple[asyncio.subprocess.Process, str, str]:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    lines = [await asyncio.wait_for(process.stdout.readline(), 20) for _ in range(2)]
    endpoint = lines[0].decode().removeprefix("endpoint:").strip()
    ca_file = lines[1].decode().removeprefix("ca file:").strip()
    return process, endpoint, ca_file


@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param([sys.executable, "-m", "rtcore_sonic_emulator"], id="python-m"),
        pytest.param(
            [RTCORE or "rtcore", "emulator"],
            id="rtcore",
            marks=pytest.mark.skipif(RTCORE is None, reason="rtcore is not installed"),
        ),
    ],
)
async def test_cli_serves_until_interrupted(prefix: list[str], cert_dir: Path) -> None:
    args = ["--port", "0", "--cert-dir", str(cert_dir), "--realtime-factor", "0"]
    process, endpoint, ca_file = await start([*prefix, *args])
    try:
        assert endpoint.startswith("https://localhost:")
        assert Path(ca_file) == cert_dir / "ca.pem"
        client = await make_client(endpoint, ca_file)
        session = await SonicStream.open(client, V2)
        await session.start()
        await session.send_audio(utterance_pcm(0))
        events, _ = await session.until("completionEnd")
        assert events[2][1]["content"] == "Hello."
        await session.close()
    finally:
        process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), 10)
    assert code == 0


async def test_ssl_cert_file_is_what_awscrt_honours(cert_dir: Path, emulator: Any) -> None:
    """A stock AWSCRTHTTPClient trusts the emulator when its process has SSL_CERT_FILE set."""
    program = f"""
import asyncio, json
from smithy_http.aio.crt import AWSCRTHTTPClient, AWSCRTHTTPClientConfig
from rtcore_sonic_emulator import make_client
from tests.emulator.sdk_stream import SonicStream

async def main():
    transport = AWSCRTHTTPClient(client_config=AWSCRTHTTPClientConfig(force_http_2=True))
    client = await make_client({emulator.endpoint!r}, "", transport=transport)
    session = await SonicStream.open(client, {V2!r})
    await session.start(audio=False)
    await session.send_text("ping")
    events, _ = await session.until("completionEnd")
    print(json.dumps([n for n, _ in events]))
    await session.close()

asyncio.run(main())
"""
    env = {**os.environ, "SSL_CERT_FILE": str(emulator.ca_file)}
    env.pop("AWS_CA_BUNDLE", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", program, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 40)
    assert process.returncode == 0, err.decode()[-2000:]
    assert b"completionEnd" in out


def test_the_emulator_proper_imports_neither_the_core_nor_the_provider() -> None:
    code = (
        "import sys, rtcore_sonic_emulator.server, rtcore_sonic_emulator.cli;"
        "print(sorted(m for m in sys.modules if m == 'rtcore' or m.startswith(('rtcore.', "
        "'rtcore_bedrock_sonic'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "argv", [["emulator"], ["serve", "--provider", "bedrock-sonic", "--emulator"]]
)
def test_without_the_extra_the_emulator_says_what_to_install(argv: list[str]) -> None:
    # As if h2 were not installed: the emulator's extra (rtcore[emulator]) is missing.
    code = "import sys; sys.modules['h2'] = None; from rtcore.cli import main; main(sys.argv[1:])"
    out = subprocess.run(
        [sys.executable, "-c", code, *argv, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode != 0
    assert "pip install 'rtcore[emulator]'" in out.stderr
    assert "Traceback" not in out.stderr
