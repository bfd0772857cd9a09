"""``ssl_ca_file``: the provider's client trusts exactly the CA it is given, for its own
client only; a CA that did not sign the server's certificate fails in bounded time with a
message that says what to check."""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path
from typing import Any

import pytest
import trustme

from rtcore import neutral as n
from rtcore.provider import ProviderUnavailable
from rtcore_bedrock_sonic.emulator import NovaSonicEmulator, utterance_pcm
from tests.bedrock.conftest import V2, Driver


async def test_the_emulators_ca_is_trusted(open_driver: Any) -> None:
    driver = await open_driver(V2)
    await driver.audio(utterance_pcm(0))
    assert (await driver.wait_done(1))[0].status == "completed"


async def test_another_ca_fails_in_bounded_time_with_a_clear_error(
    emulator: NovaSonicEmulator, make_provider: Any, tmp_path: Path
) -> None:
    # A TLS server whose certificate another CA signed; the client is told to trust only the
    # emulator's CA. The server gives up a handshake after 2 s, so awscrt's late failure of
    # the abandoned connection still happens during this test.
    other = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    other.issue_cert("localhost").configure_cert(context)
    context.set_alpn_protocols(["h2"])
    server = await asyncio.start_server(
        lambda r, w: w.close(), "127.0.0.1", 0, ssl=context, ssl_handshake_timeout=2.0
    )
    port = server.sockets[0].getsockname()[1]
    provider = make_provider(
        V2,
        aws_bedrock_runtime_endpoint=f"https://localhost:{port}",
        open_timeout_seconds=1.0,
        max_open_attempts=1,
    )
    driver = Driver(await provider.open_session(n.SessionConfig(model=V2)))
    try:
        started = time.monotonic()
        await driver.audio(utterance_pcm(0))
        await driver.wait(lambda: driver.ended, within=10)
        elapsed = time.monotonic() - started
        errors = driver.of(n.ProviderError)
        assert len(errors) == 1
        assert errors[0].fatal
        assert errors[0].code == "upstream_timeout"
        assert "ssl_ca_file" in errors[0].message
        assert "15-30 s" in errors[0].message
        assert elapsed < 5, elapsed  # bounded by open_timeout_seconds, not awscrt's handshake
        await asyncio.sleep(2.0)  # the server ends the handshake; awscrt fails the connect
    finally:
        await driver.aclose()
        server.close()
    assert emulator.stats.opened == 0


async def test_a_missing_ca_file_is_a_config_error(make_provider: Any, tmp_path: Path) -> None:
    provider = make_provider(V2, ssl_ca_file=str(tmp_path / "nope.pem"))
    with pytest.raises(ProviderUnavailable) as info:
        await provider.open_session(n.SessionConfig(model=V2))
    assert info.value.code == "invalid_config"
    assert "nope.pem" in info.value.message
