"""``ssl_ca_file``: the provider's client trusts exactly the CA it is given, for its own
client only; a CA that did not sign the server's certificate fails in bounded time with a
message that says what to check."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from rtcore.provider import ProviderUnavailable
from rtcore.provider import messages as n
from rtcore_sonic_emulator import NovaSonicEmulator, utterance_pcm
from tests.bedrock.conftest import V2


async def test_the_emulators_ca_is_trusted(open_driver: Any) -> None:
    driver = await open_driver(V2)
    await driver.audio(utterance_pcm(0))
    assert (await driver.wait_done(1))[0].status == "completed"


def test_another_ca_fails_in_bounded_time_with_a_clear_error(
    emulator: NovaSonicEmulator,
) -> None:
    # The client trusts only the emulator's CA; the server it dials has a certificate that
    # another CA signed (run in a process of its own, see untrusted_ca.py).
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("untrusted_ca.py")), str(emulator.ca_file)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert time.monotonic() - started < 15
    error = json.loads(result.stdout)
    assert error["code"] == "upstream_timeout", (error, result.stderr)
    assert error["fatal"]
    assert "ssl_ca_file" in error["message"]
    assert "15-30 s" in error["message"]
    assert error["elapsed"] < 5  # bounded by open_timeout_seconds, not awscrt's handshake


async def test_a_missing_ca_file_is_a_config_error(make_provider: Any, tmp_path: Path) -> None:
    provider = make_provider(V2, ssl_ca_file=str(tmp_path / "nope.pem"))
    with pytest.raises(ProviderUnavailable) as info:
        await provider.open_session(n.SessionConfig(model=V2))
    assert info.value.code == "invalid_config"
    assert "nope.pem" in info.value.message
