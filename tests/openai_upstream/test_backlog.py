"""Audio held while the upstream is away is bounded in seconds of the format it crosses in:
a G.711 session passed through holds a byte a sample, and a session.update that changes the
format changes the bound with it."""

from __future__ import annotations

from collections.abc import Callable

from rtcore.provider import messages as n
from rtcore_openai_realtime.provider import OpenAIRealtimeProvider
from rtcore_openai_realtime.session import OpenAISession
from tests.openai_upstream.conftest import opened


async def test_the_backlog_holds_sixty_seconds_of_whatever_format_the_audio_crosses_in(
    make_provider: Callable[..., OpenAIRealtimeProvider],
) -> None:
    provider = make_provider("openai", max_backlog_seconds=60.0)
    g711 = {"input_sample_rate": 8000, "input_encoding": "g711_ulaw"}
    async with opened(provider, **g711) as session:
        assert isinstance(session, OpenAISession)
        assert session.supervisor.policy.max_backlog_bytes == 60 * 8000
        pcm16 = n.SessionConfig(model="m", input_sample_rate=24000)
        await session.send(
            n.Configure(config=pcm16, changed=frozenset({"input_sample_rate", "input_encoding"}))
        )
        assert session.supervisor.policy.max_backlog_bytes == 60 * 24000 * 2
