"""The OpenAI Agents SDK (GA, validates every server event with pydantic) against
``rtcore serve --provider echo`` and the Bedrock provider on the emulator (both models): a
RealtimeAgent's function tool runs and the agent answers.

The SDK is used as its documentation shows; only the URL points at rtcore.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from agents import function_tool
from agents.realtime import RealtimeAgent, RealtimeRunner

from tests.clients.conftest import served_by_emulator
from tests.transports.process import Served


def answered_after_tool(seen: list[str]) -> bool:
    """The tool's turn has ended and a new turn (the answer) has started since."""
    return "tool_end" in seen and "agent_start" in seen[seen.index("tool_end") :]


# server: (model name, the city the user asks about, what the answer says)
SERVERS = {
    "echo": ("echo", "San Francisco", "The tool said: Sunny in San Francisco"),
    "nova-v1-emulator": ("nova", "Paris", "Sunny in Paris"),
    "nova-2-emulator": ("nova", "Paris", "Sunny in Paris"),
}
MODEL_IDS = {
    "nova-v1-emulator": "amazon.nova-sonic-v1:0",
    "nova-2-emulator": "amazon.nova-2-sonic-v1:0",
}


@asynccontextmanager
async def server_for(name: str, echo: Served, tmp_path: Path) -> AsyncIterator[Served]:
    if name == "echo":
        yield echo
    else:
        async with served_by_emulator(tmp_path, MODEL_IDS[name]) as served:
            yield served


@pytest.mark.parametrize("server", SERVERS)
async def test_agent_tool_runs_and_agent_answers(
    served: Served, server: str, tmp_path: Path
) -> None:
    model, city, answer_text = SERVERS[server]
    calls: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        calls.append(city)
        return f"Sunny in {city}"

    agent = RealtimeAgent(name="Weather", instructions="Answer briefly.", tools=[get_weather])
    runner = RealtimeRunner(agent, config={"model_settings": {"model_name": model}})
    seen: list[str] = []
    errors: list[Any] = []
    audio = 0
    history: list[Any] = []
    async with server_for(server, served, tmp_path) as rtcore:
        session = await runner.run(
            model_config={
                "url": f"ws://127.0.0.1:{rtcore.port}/v1/realtime?model={model}",
                "api_key": "sk-test",
            }
        )
        async with session:
            await session.send_message(f"What's the weather in {city}?")
            async with asyncio.timeout(15):
                async for event in session:
                    seen.append(event.type)
                    if event.type == "error":
                        # Includes every server event the SDK's strict validation rejected.
                        errors.append(event.error)
                    elif event.type == "audio":
                        audio += len(event.audio.data)
                    elif event.type == "history_updated":
                        history = event.history
                    elif event.type == "agent_end" and answered_after_tool(seen):
                        break

    assert errors == []
    assert calls == [city]
    assert seen.index("tool_start") < seen.index("tool_end")
    assert audio > 0  # the agent spoke (audio is the Agents SDK's default modality)
    answer = history[-1]
    assert (answer.type, answer.role) == ("message", "assistant")
    spoken = "".join(part.transcript or "" for part in answer.content)
    assert answer_text in spoken
    assert [item.type for item in history] == ["message", "function_call", "message"]
