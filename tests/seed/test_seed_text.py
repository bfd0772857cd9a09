"""The seed's first program (basic text interaction), unmodified, against ``rtcore serve``
with the echo test provider standing in for Bedrock.

``text_chat.py`` is the seed's code block byte for byte (a digest below pins it). The seed
dials ``ws://localhost:4000``, so the server listens on 4000 and the program runs as is.
Only when port 4000 is taken (a developer's own ``rtcore serve``) does the test run a copy
whose one difference is the port in the URL.
"""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
from pathlib import Path

from tests.transports.process import Served

HERE = Path(__file__).parent
PROGRAM = HERE / "text_chat.py"
SEED_SHA256 = "f784f75f156137fc0b28a29a486fd130cd1eada0627695f87980ecfce731e6c9"
SEED_PORT = 4000
# The seed's config.yaml with the model served by the echo plugin instead of Bedrock.
CONFIG = """\
model_list:
  - model_name: "bedrock-sonic"
    litellm_params:
      model: echo/echo-1
    model_info:
      mode: realtime
"""


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_program_is_the_seed_verbatim() -> None:
    # The digest of the seed document's first code block: any edit to the copy shows here.
    assert hashlib.sha256(PROGRAM.read_bytes()).hexdigest() == SEED_SHA256


def test_seed_text_program_prints_streamed_text_and_complete(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    program = PROGRAM
    port = SEED_PORT if _port_free(SEED_PORT) else 0
    with Served("--config", str(config), "--port", str(port)) as served:
        if served.port != SEED_PORT:
            program = tmp_path / "text_chat.py"
            program.write_text(
                PROGRAM.read_text().replace("localhost:4000", f"localhost:{served.port}")
            )
        result = subprocess.run(
            [sys.executable, str(program)], capture_output=True, text=True, timeout=30, check=False
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Connected: session.created\nYou said: Hello!\n✓ Complete\n"
