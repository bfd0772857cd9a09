"""What the in-process memory benchmarks share: the Bedrock model pointed at an emulator,
client audio as ``input_audio_buffer.append`` messages, and a connection's replies
watched for their ``response.done``."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

from rtcore.connection import Connection
from rtcore.provider import ModelConfig


def sonic_model(endpoint: str, ca_file: str | Path) -> ModelConfig:
    """Nova 2 Sonic through the Bedrock provider, at an emulator's endpoint."""
    return ModelConfig(
        name="sonic",
        provider="bedrock-sonic",
        model="amazon.nova-2-sonic-v1:0",
        params={
            "aws_region_name": "us-east-1",
            "aws_bedrock_runtime_endpoint": endpoint,
            "ssl_ca_file": str(ca_file),
            "aws_access_key_id": "AKIDEMULATOR",
            "aws_secret_access_key": "emulator-secret",
        },
    )


def appends(pcm: bytes, chunk_bytes: int) -> list[str]:
    """PCM as the client messages that send it, a chunk each."""
    return [
        json.dumps(
            {
                "type": "input_audio_buffer.append",
                "audio": base64.b64encode(pcm[i : i + chunk_bytes]).decode(),
            }
        )
        for i in range(0, len(pcm), chunk_bytes)
    ]


@contextlib.asynccontextmanager
async def replies_done(conn: Connection) -> AsyncIterator[asyncio.Event]:
    """An event set at each ``response.done`` the connection sends (clear it before a
    turn); the connection's output is read meanwhile."""
    done = asyncio.Event()

    async def pump() -> None:
        async for data in conn.outgoing():
            if b'"response.done"' in data[:40]:
                done.set()

    reader = asyncio.create_task(pump())
    try:
        yield done
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
