"""The emulator as a process (``python -m rtcore_gemini_emulator``), and its independence."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

from google import genai

from rtcore_emulator_kit.certs import client_ssl_context
from tests.gemini_emulator.conftest import TEXT_MODEL, next_turn


def test_the_emulator_proper_imports_neither_the_core_nor_a_provider() -> None:
    code = (
        "import sys, rtcore_gemini_emulator.server, rtcore_gemini_emulator.cli;"
        "print(sorted(m for m in sys.modules if m == 'rtcore' or m.startswith(('rtcore.', "
        "'rtcore_bedrock_sonic', 'rtcore_sonic_emulator'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_python_m_serves_until_sigterm(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "rtcore_gemini_emulator", "--port", "0"],
        *["--cert-dir", str(tmp_path)],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        lines = [(await process.stdout.readline()).decode() for _ in range(2)]
        base_url = lines[0].split(": ", 1)[1].strip()
        ca_file = lines[1].split(":", 1)[1].strip()
        assert base_url.startswith("https://localhost:")
        assert Path(ca_file) == tmp_path / "ca.pem"
        client = genai.Client(
            api_key="k",
            http_options={
                "base_url": base_url,
                "async_client_args": {"ssl": client_ssl_context(ca_file)},
            },
        )
        async with client.aio.live.connect(
            model=TEXT_MODEL, config={"response_modalities": ["TEXT"]}
        ) as session:
            await session.send_client_content(
                turns={"role": "user", "parts": [{"text": "Hi"}]}, turn_complete=True
            )
            assert (await next_turn(session)).text == "You said: Hi"
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
