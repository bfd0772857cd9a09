"""What the WebRTC tests share: their peers gather ICE candidates on loopback (as the
server does when it serves there), and the Nova Sonic emulator of tests/bedrock, for calls
in front of the Bedrock provider."""

import pytest

from rtcore_webrtc.ice import gather_on
from tests.bedrock.conftest import cert_dir, emulator

__all__ = ["cert_dir", "emulator"]


@pytest.fixture(autouse=True)
def _loopback_ice() -> None:
    gather_on("127.0.0.1")
