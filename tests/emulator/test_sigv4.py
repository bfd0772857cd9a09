"""The emulator checks each stream's SigV4 signature against the credentials it was told
were issued, as Bedrock does: a test can then prove which credentials a client signed with."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from smithy_core.exceptions import CallError

from rtcore_sonic_emulator import NovaSonicEmulator, make_client
from tests.emulator.conftest import V2
from tests.emulator.sdk_stream import SonicStream

# make_client signs with these.
KEY, SECRET = "AKIDEMULATOR", "emulator-secret"


async def open_turn(emu: NovaSonicEmulator) -> None:
    client = await make_client(emu.endpoint, emu.ca_file)
    session = await SonicStream.open(client, V2)
    await session.start()
    await session.send_text("Hello!")
    assert await session.next() is not None
    await session.close()


async def test_the_issued_credentials_sign_a_stream_that_is_served(cert_dir: Path) -> None:
    async with NovaSonicEmulator(cert_dir=cert_dir, realtime_factor=0.0) as emu:
        emu.issue(KEY, SECRET)
        await open_turn(emu)
        assert emu.stats.signed_by == [KEY]


@pytest.mark.parametrize(
    ("key", "secret", "expires", "error"),
    [
        (KEY, "another-secret", None, "InvalidSignatureException"),
        ("AKIDSOMEONEELSE", SECRET, None, "UnrecognizedClientException"),
        (KEY, SECRET, datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC), "ExpiredTokenException"),
    ],
)
async def test_other_credentials_are_refused_as_bedrock_refuses_them(
    cert_dir: Path, key: str, secret: str, expires: datetime.datetime | None, error: str
) -> None:
    async with NovaSonicEmulator(cert_dir=cert_dir, realtime_factor=0.0) as emu:
        emu.issue(key, secret, expires=expires)
        with pytest.raises(CallError) as raised:
            await open_turn(emu)
        assert emu.stats.errors == {error: 1}
    # The SDK has no model for these: its CallError names the exception and the status.
    assert f"#{error}" in str(raised.value)
    assert "status: 403" in str(raised.value)
