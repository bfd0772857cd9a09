"""The Nova Sonic emulator of tests/bedrock, for calls in front of the Bedrock provider."""

from tests.bedrock.conftest import cert_dir, emulator

__all__ = ["cert_dir", "emulator"]
