"""LiveKit Agents (``livekit-agents`` with ``livekit-plugins-openai``), unmodified and with its
defaults, against ``rtcore serve`` on each provider upstream (tests/clients/conftest.py).

``RealtimeModel(base_url=...)`` is the only change a LiveKit user makes: it dials
``{base_url}/realtime?model=NAME`` with its own session defaults (voice ``marin``, semantic VAD,
GA events). Typed turns go through ``AgentSession.run`` (LiveKit's own test driver), spoken
ones through a microphone and a speaker plugged into the session's public I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from livekit.agents import Agent, AgentSession, function_tool, llm
from livekit.plugins import openai as lk_openai

from rtcore_sonic_emulator import utterance_pcm
from tests.clients.conftest import Upstream
from tests.clients.livekit_io import Microphone, Speaker
from tests.transports.process import Served

RATE = 24000  # LiveKit's OpenAI plugin sends and plays 24 kHz
# Its default turn detection is semantic_vad.
pytestmark = pytest.mark.client_sends("semantic_vad", "LiveKit Agents")


class Weather:
    def __init__(self) -> None:
        self.asked: list[str] = []

    @function_tool
    async def get_weather(self, city: str) -> str:
        """Get the current weather for a city."""
        self.asked.append(city)
        return f"Sunny in {city}"


@asynccontextmanager
async def livekit_session(
    served: Served,
    upstream: Upstream,
    microphone: Microphone | None = None,
    speaker: Speaker | None = None,
) -> AsyncIterator[tuple[AgentSession[None], list[Any]]]:
    """An ``AgentSession`` on rtcore; yields it and the errors it reported."""
    async with aiohttp.ClientSession() as http:
        model = lk_openai.realtime.RealtimeModel(
            model=upstream.name,
            api_key="sk-test",
            base_url=f"http://127.0.0.1:{served.port}/v1",
            http_session=http,
        )
        session: AgentSession[None] = AgentSession(llm=model)
        errors: list[Any] = []
        session.on("error", errors.append)
        if microphone is not None:
            session.input.audio = microphone
        if speaker is not None:
            session.output.audio = speaker
        yield session, errors
        await session.aclose()


def assistant_texts(items: list[Any]) -> list[str]:
    return [
        i.text_content for i in items if isinstance(i, llm.ChatMessage) and i.role == "assistant"
    ]


async def test_typed_turn(served_upstream: Served, upstream: Upstream) -> None:
    async with livekit_session(served_upstream, upstream) as (session, errors):
        await session.start(Agent(instructions="Be brief."))
        result = await session.run(user_input="Hello there")
        result.expect.next_event().is_message(role="assistant")
        replies = [e.item.text_content for e in result.events if e.type == "message"]
        assert replies == [upstream.reply("Hello there")]
    assert errors == []


async def test_tool_turn(served_upstream: Served, upstream: Upstream) -> None:
    weather = Weather()
    async with livekit_session(served_upstream, upstream) as (session, errors):
        await session.start(Agent(instructions="Be brief.", tools=[weather.get_weather]))
        result = await session.run(user_input="What's the weather in Paris?")
        call = result.expect.next_event().is_function_call(name="get_weather").event().item
        # OpenAI's limit, which LiveKit enforces by cutting longer ids (and then stalls).
        assert len(call.call_id) <= 32
        output = result.expect.next_event().is_function_call_output().event().item
        assert output.call_id == call.call_id
        assert output.output == "Sunny in Paris"
        reply = result.expect.next_event().is_message(role="assistant").event().item
        assert "Sunny in Paris" in (reply.text_content or "")
    assert weather.asked == ["Paris"]
    assert errors == []


async def test_spoken_turn(served_upstream: Served, upstream: Upstream) -> None:
    """LiveKit's default server VAD: the user says utterance 0 and hears the reply; both
    turns land in LiveKit's chat history with their text."""
    microphone, speaker = Microphone(utterance_pcm(0, sample_rate=RATE), RATE), Speaker(RATE)
    async with livekit_session(served_upstream, upstream, microphone, speaker) as (
        session,
        errors,
    ):
        items: list[Any] = []
        heard: list[str] = []
        answered = asyncio.Event()

        def added(ev: Any) -> None:
            items.append(ev.item)
            if assistant_texts(items):
                answered.set()

        session.on("conversation_item_added", added)
        session.on(
            "user_input_transcribed",
            lambda ev: heard.append(ev.transcript) if ev.is_final else None,
        )
        await session.start(Agent(instructions="Be brief."))
        async with asyncio.timeout(20):
            await answered.wait()
    said = upstream.heard(0)
    assert heard == [said]
    users = [i.text_content for i in items if isinstance(i, llm.ChatMessage) and i.role == "user"]
    assert users == [said]
    answer = upstream.reply(said)
    assert assistant_texts(items) == [answer]
    # The whole reply played, at the emulator's speaking rate.
    assert speaker.seconds == pytest.approx(upstream.speech_seconds(answer), abs=0.1)
    assert errors == []
