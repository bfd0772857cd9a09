"""The OpenAI Agents SDK (GA, validates every server event with pydantic) against
``rtcore serve --provider echo``: a RealtimeAgent's function tool runs and the agent answers.

The SDK is used as its documentation shows; only the URL points at rtcore.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agents import function_tool
from agents.realtime import RealtimeAgent, RealtimeRunner

from tests.transports.process import Served


def answered_after_tool(seen: list[str]) -> bool:
    """The tool's turn has ended and a new turn (the answer) has started since."""
    return "tool_end" in seen and "agent_start" in seen[seen.index("tool_end") :]


async def test_agent_tool_runs_and_agent_answers(served: Served) -> None:
    calls: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        calls.append(city)
        return f"Sunny in {city}"

    agent = RealtimeAgent(name="Weather", instructions="Answer briefly.", tools=[get_weather])
    runner = RealtimeRunner(agent, config={"model_settings": {"model_name": "echo"}})
    session = await runner.run(
        model_config={
            "url": f"ws://127.0.0.1:{served.port}/v1/realtime?model=echo",
            "api_key": "sk-test",
        }
    )
    seen: list[str] = []
    errors: list[Any] = []
    audio = 0
    history: list[Any] = []
    async with session:
        await session.send_message("What's the weather in San Francisco?")
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
    assert calls == ["San Francisco"]
    assert seen.index("tool_start") < seen.index("tool_end")
    assert audio > 0  # the agent spoke (audio is the Agents SDK's default modality)
    answer = history[-1]
    assert (answer.type, answer.role) == ("message", "assistant")
    spoken = "".join(part.transcript or "" for part in answer.content)
    assert spoken == "The tool said: Sunny in San Francisco"
    assert [item.type for item in history] == ["message", "function_call", "message"]
