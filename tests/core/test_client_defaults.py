"""What unmodified OpenAI clients send without being asked must not be refused.

The Agents SDK sends ``voice: "ash"`` in every session.update, pipecat ``"alloy"``; a
model without those voices used to refuse the whole update, tools and instructions with it.
"""

from __future__ import annotations

import pytest

from rtcore.dialect import Dialect
from rtcore.provider import messages as n

from .conftest import Harness, ScriptedProvider

TOOL = {"type": "function", "name": "get_weather", "description": "Weather", "parameters": {}}


@pytest.mark.parametrize(
    ("session", "dialect"),
    [
        (
            {"type": "realtime", "audio": {"output": {"voice": "ash"}}, "tools": [TOOL]},
            Dialect.GA,
        ),
        ({"voice": "alloy", "tools": [TOOL]}, Dialect.BETA),
    ],
)
async def test_openai_voice_names_stand_for_the_default_voice(
    provider: ScriptedProvider, session: dict[str, object], dialect: Dialect
) -> None:
    async with Harness(provider, dialect) as client:
        await client.send({"type": "session.update", "session": session})
        updated = await client.wait_for("session.updated")
        assert "error" not in client.types()
        # The voice actually used is reported, and the rest of the update took effect.
        if dialect is Dialect.GA:
            assert updated["session"]["audio"]["output"]["voice"] == "matthew"
        else:
            assert updated["session"]["voice"] == "matthew"
        assert [t["name"] for t in updated["session"]["tools"]] == ["get_weather"]
        response = {"voice": "shimmer"}
        await client.send({"type": "response.create", "response": response})
        await client.wait_for("response.done")
        assert "error" not in client.types()
    configures = [c for c in provider.commands if isinstance(c, n.Configure)]
    assert configures[-1].config.voice == "matthew"
    (create,) = [c for c in provider.commands if isinstance(c, n.CreateResponse)]
    assert create.options.voice in (None, "matthew")
