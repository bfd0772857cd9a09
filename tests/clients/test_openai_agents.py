"""The OpenAI Agents SDK (GA, validates every server event with pydantic) against
``rtcore serve --provider echo`` and on each provider upstream (tests/clients/conftest.py):
a typed turn answered, a RealtimeAgent's function tool run and the agent answering, a
spoken turn (the SDK's default semantic VAD) transcribed and answered.

The SDK is used as its documentation shows; only the URL points at rtcore.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from agents import function_tool
from agents.realtime import RealtimeAgent, RealtimeRunner, RealtimeSession

from rtcore_sonic_emulator import utterance_pcm
from tests.clients.conftest import Upstream
from tests.transports.process import Served

RATE = 24000  # the SDK's default input format: PCM16 at 24 kHz
# Its default model settings ask for semantic_vad turn detection.
pytestmark = pytest.mark.client_sends("semantic_vad", "openai-agents")


def answered_after_tool(seen: list[str]) -> bool:
    """The tool's turn has ended and a new turn (the answer) has started since."""
    return "tool_end" in seen and "agent_start" in seen[seen.index("tool_end") :]


class Run:
    """What one session of the agent reported."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.errors: list[Any] = []
        self.audio = 0
        self.history: list[Any] = []
        self.calls: list[str] = []

    def spoken(self, item: Any) -> str:
        return "".join(part.transcript or "" for part in item.content)


async def run_agent(
    port: int, model: str, send: Callable[[RealtimeSession], Any], done: Callable[[Run], bool]
) -> Run:
    """A weather agent on ``model``: ``send`` says something, events are read until
    ``done`` holds after an ``agent_end``."""
    run = Run()

    @function_tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        run.calls.append(city)
        return f"Sunny in {city}"

    agent = RealtimeAgent(name="Weather", instructions="Answer briefly.", tools=[get_weather])
    runner = RealtimeRunner(agent, config={"model_settings": {"model_name": model}})
    session = await runner.run(
        model_config={
            "url": f"ws://127.0.0.1:{port}/v1/realtime?model={model}",
            "api_key": "sk-test",
        }
    )
    async with session:
        await send(session)
        async with asyncio.timeout(20):
            async for event in session:
                run.seen.append(event.type)
                if event.type == "error":
                    # Includes every server event the SDK's strict validation rejected.
                    run.errors.append(event.error)
                elif event.type == "audio":
                    run.audio += len(event.audio.data)
                elif event.type == "history_updated":
                    run.history = event.history
                elif event.type == "agent_end" and done(run):
                    break
    return run


def typed(text: str) -> Callable[[RealtimeSession], Any]:
    return lambda session: session.send_message(text)


async def test_agent_tool_runs_and_agent_answers_on_echo(served: Served) -> None:
    run = await run_agent(
        served.port,
        "echo",
        typed("What's the weather in San Francisco?"),
        lambda r: answered_after_tool(r.seen),
    )
    assert run.errors == []
    assert run.calls == ["San Francisco"]
    answer = run.history[-1]
    assert "The tool said: Sunny in San Francisco" in run.spoken(answer)
    assert [item.type for item in run.history] == ["message", "function_call", "message"]


async def test_typed_turn(served_upstream: Served, upstream: Upstream) -> None:
    run = await run_agent(served_upstream.port, upstream.name, typed("Hello there"), lambda r: True)
    assert run.errors == []
    assert run.calls == []
    user, answer = run.history
    assert (user.role, answer.role) == ("user", "assistant")
    assert run.spoken(answer) == upstream.reply("Hello there")
    assert run.audio > 0  # spoken: audio is the Agents SDK's default modality


async def test_agent_tool_runs_and_agent_answers(
    served_upstream: Served, upstream: Upstream
) -> None:
    run = await run_agent(
        served_upstream.port,
        upstream.name,
        typed("What's the weather in Paris?"),
        lambda r: answered_after_tool(r.seen),
    )
    assert run.errors == []
    assert run.calls == ["Paris"]
    assert run.seen.index("tool_start") < run.seen.index("tool_end")
    assert run.audio > 0  # the agent spoke
    answer = run.history[-1]
    assert (answer.type, answer.role) == ("message", "assistant")
    assert "Sunny in Paris" in run.spoken(answer)
    assert [item.type for item in run.history] == ["message", "function_call", "message"]


async def test_spoken_turn(served_upstream: Served, upstream: Upstream) -> None:
    """The user says utterance 0 into the session (``send_audio``, the SDK's default
    semantic VAD): the agent hears it and answers aloud."""

    async def speak(session: RealtimeSession) -> None:
        await session.send_audio(utterance_pcm(0, sample_rate=RATE))

    def answered(run: Run) -> bool:
        return any(getattr(i, "role", None) == "assistant" for i in run.history)

    run = await run_agent(served_upstream.port, upstream.name, speak, answered)
    assert run.errors == []
    user, answer = run.history
    assert user.role == "user"
    assert [part.transcript for part in user.content] == [upstream.heard(0)]
    assert run.spoken(answer) == upstream.reply(upstream.heard(0))
    assert run.audio > 0
