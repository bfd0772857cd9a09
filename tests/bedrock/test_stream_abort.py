"""A stream whose connection died under it: a send blocked on it (nothing drains the SDK's
request buffer any more) is released by abort, with an error, and abort itself returns.
Before, both waited forever: the session's audio path wedged for good."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rtcore.kit import UpstreamFailure
from rtcore.provider import messages as n
from rtcore_bedrock_sonic.prompt import PromptWriter
from rtcore_bedrock_sonic.stream import SonicStream
from rtcore_sonic_emulator import NovaSonicEmulator, utterance_pcm
from tests.bedrock.conftest import V2, until


async def test_abort_releases_a_send_blocked_on_a_dead_connection(
    emulator: NovaSonicEmulator, make_provider: Any
) -> None:
    provider = make_provider(V2)
    upstream = await provider._get_upstream()
    writer = PromptWriter(upstream.profile)
    opening = writer.opening(
        n.SessionConfig(model=V2), voice="matthew", system_prompt="Hi.", history=[]
    )
    emulator.inject("reset@1")  # the connection is aborted at the first reply's audio
    stream = await SonicStream.open(
        upstream.client, upstream.model_id, [*opening, writer.audio_start(16000)], limit=5
    )
    pcm = utterance_pcm(0)
    await stream.send([writer.audio_chunk(pcm[i : i + 3200]) for i in range(0, len(pcm), 3200)])
    await until(lambda: emulator.stats.responses >= 1)
    await asyncio.sleep(0.2)  # the reset reaches the client

    async def flood() -> None:
        # Far more than the SDK buffers (16 events): one of these sends must wait for room
        # that a dead connection never makes.
        for _ in range(200):
            await stream.send([writer.audio_chunk(bytes(3200))])

    sending = asyncio.ensure_future(flood())
    done, _ = await asyncio.wait({sending}, timeout=1.0)
    if done:
        # The transport noticed the reset first and failed the send itself: also fine, and
        # nothing left to release.
        assert isinstance(sending.exception(), UpstreamFailure)
        return
    async with asyncio.timeout(5):
        await stream.abort()
        with pytest.raises(UpstreamFailure):
            await sending
