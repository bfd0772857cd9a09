"""Run by test_trust.py in its own process: the provider, trusting only the CA given as
argv[1], opens a session against a local TLS server whose certificate another CA signed.
Prints the client-facing error and how long it took, as JSON.

A process of its own because awscrt reports the rejected certificate only 10-30 s later
(s2n delays it), on a connect attempt already abandoned; that late report must not land
in whichever test runs next."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
import time

import trustme

from rtcore.provider import ModelConfig
from rtcore.provider import messages as n
from rtcore_bedrock_sonic.provider import SonicProvider
from rtcore_sonic_emulator import utterance_pcm

V2 = "amazon.nova-2-sonic-v1:0"


async def main(ca_file: str) -> dict[str, object]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("localhost").configure_cert(context)
    context.set_alpn_protocols(["h2"])
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    provider = SonicProvider(
        ModelConfig(
            name="sonic",
            provider="bedrock-sonic",
            model=V2,
            params={
                "aws_region_name": "us-east-1",
                "aws_bedrock_runtime_endpoint": f"https://localhost:{port}",
                "ssl_ca_file": ca_file,
                "aws_access_key_id": "AKIDUNTRUSTED",
                "aws_secret_access_key": "untrusted-secret",
                "open_timeout_seconds": 1.0,
                "max_open_attempts": 1,
            },
        )
    )
    session = await provider.open_session(n.SessionConfig(model=V2))
    started = time.monotonic()
    await session.send(n.AppendAudio(pcm=utterance_pcm(0)))
    async with asyncio.timeout(20):
        async for event in session.events():
            if isinstance(event, n.ProviderError):
                return {
                    "code": event.code,
                    "message": event.message,
                    "fatal": event.fatal,
                    "elapsed": time.monotonic() - started,
                }
    return {"code": None, "elapsed": time.monotonic() - started}


if __name__ == "__main__":
    result = asyncio.run(main(sys.argv[1]))
    print(json.dumps(result), flush=True)
    os._exit(0)  # leave the abandoned TLS attempt behind with the process
