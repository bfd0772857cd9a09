"""Settings Bedrock would refuse in a stream's opening are refused at session.update, with
the parameter and Nova's rule, and the session keeps its settings and goes on (before,
the client got session.updated and then lost the session to Bedrock's ValidationException)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtcore_sonic_emulator import NovaSonicEmulator
from tests.bedrock.test_identity_over_websocket import connect, emu, serve

__all__ = ["emu"]  # the emulator fixture


@pytest.mark.parametrize(
    ("session", "param"),
    [
        ({"temperature": 1.5}, "session.temperature"),
        ({"tools": [{"type": "function", "name": "get weather"}]}, "session.tools[0].name"),
        ({"tools": [{"type": "function", "name": "x" * 65}]}, "session.tools[0].name"),
        (
            {"tools": [{"type": "function", "name": "f"}, {"type": "function", "name": "f"}]},
            "session.tools",  # the core's own rule, before the model's
        ),
    ],
)
async def test_what_bedrock_would_refuse_is_refused_and_the_session_goes_on(
    emu: NovaSonicEmulator, tmp_path: Path, session: dict[str, object], param: str
) -> None:
    async with serve(emu, tmp_path) as served, connect(served, "v2") as client:
        await client.send(type="session.update", session={"modalities": ["text"]})
        await client.wait("session.updated")
        await client.send(type="session.update", session=session)
        error = (await client.wait("error"))["error"]
        await client.say("Hello.")
        await client.send(type="response.create")
        done = await client.wait("response.done")
    assert (error["code"], error["param"]) == ("invalid_value", param)
    assert "Nova Sonic" in error["message"] or "tools" in error["param"]
    assert len(client.of("session.updated")) == 1  # the refused update changed nothing
    assert done["response"]["status"] == "completed"
    assert client.text_of(done["response"]["id"]) == "You said: Hello."
