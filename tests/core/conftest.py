"""A scripted in-process provider and a harness that runs one core connection.

These are the core's own unit tests: the provider is a fake on purpose. End-to-end
behaviour over real sockets is tested with the third-party echo plugin and the Bedrock
provider elsewhere.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from rtcore.dialect import Dialect
from rtcore.gateway import Gateway
from rtcore.provider import ALL_RESPONSE_OVERRIDES, Capabilities, ModelConfig, ProviderSpec
from rtcore.provider import messages as n

Script = Callable[[n.Command], list[n.Event]]


class ScriptedSession:
    def __init__(self, script: Script, commands: list[n.Command]) -> None:
        self.script = script
        self.commands = commands
        self.queue: asyncio.Queue[n.Event | None] = asyncio.Queue()

    async def send(self, command: n.Command) -> None:
        self.commands.append(command)
        for event in self.script(command):
            await self.queue.put(event)

    @property
    def requested(self) -> str:
        """The id of the latest response the core asked for."""
        creates = [c for c in self.commands if isinstance(c, n.CreateResponse)]
        return creates[-1].response_id

    async def emit(self, *events: n.Event) -> None:
        for event in events:
            await self.queue.put(event)

    async def events(self) -> AsyncIterator[n.Event]:
        while (event := await self.queue.get()) is not None:
            yield event

    async def aclose(self) -> None:
        await self.queue.put(None)


class ScriptedProvider:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.commands: list[n.Command] = []
        self.sessions: list[ScriptedSession] = []
        self.opened_with: list[n.SessionConfig] = []

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            input_sample_rates=(16000, 24000),
            output_sample_rates=(24000,),
            voices=("matthew", "tiffany"),
            default_voice="matthew",
            response_overrides=ALL_RESPONSE_OVERRIDES,
        )

    async def open_session(self, config: n.SessionConfig) -> ScriptedSession:
        self.opened_with.append(config)
        session = ScriptedSession(self.script, self.commands)
        self.sessions.append(session)
        return session

    async def aclose(self) -> None:
        pass


def text_reply(command: n.Command) -> list[n.Event]:
    """Answers every response.create with two text deltas (or transcript + audio)."""
    if not isinstance(command, n.CreateResponse):
        return []
    modalities = command.options.output_modalities or ("text",)
    rid = command.response_id
    out: list[n.Event] = []
    for word in ("Hello ", "there"):
        if "audio" in modalities:
            out += [
                n.AudioDelta(response_id=rid, pcm=b"\x01\x00" * 480),
                n.TranscriptDelta(response_id=rid, text=word),
            ]
        else:
            out.append(n.TextDelta(response_id=rid, text=word))
    usage = n.Usage(input_text_tokens=5, output_text_tokens=2)
    out.append(n.ResponseDone(response_id=rid, usage=usage))
    return out


class Client:
    """Drives a Connection like a transport does and records what comes out."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.events: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        self._new = asyncio.Event()

    async def pump(self) -> None:
        async for data in self.conn.outgoing():
            self.raw.append(data)
            self.events.append(json.loads(data))
            self._new.set()

    async def send(self, event: dict[str, Any] | str) -> None:
        await self.conn.receive(event if isinstance(event, str) else json.dumps(event))

    async def wait_for(self, type_: str, count: int = 1) -> dict[str, Any]:
        async with asyncio.timeout(5):
            while True:
                matches = [e for e in self.events if e["type"] == type_]
                if len(matches) >= count:
                    return matches[count - 1]
                self._new.clear()
                await self._new.wait()

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]


class Harness:
    def __init__(self, provider: ScriptedProvider, dialect: Dialect | None = None) -> None:
        spec = ProviderSpec(name="scripted", factory=lambda _m: provider, default_model="s-1")
        self.gateway = Gateway(
            [ModelConfig(name="scripted", provider="scripted", model="s-1")],
            {"scripted": spec},
            max_message_bytes=64 * 1024,
        )
        self.provider = provider
        self.dialect = dialect

    async def __aenter__(self) -> Client:
        self._cm = self.gateway.connect(
            self.gateway.resolve_model("scripted"), dialect=self.dialect
        )
        conn = await self._cm.__aenter__()
        self.client = Client(conn)
        self._pump = asyncio.create_task(self.client.pump())
        await self.client.wait_for("session.created")
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self._cm.__aexit__(None, None, None)
        await asyncio.wait_for(self._pump, 5)


@pytest.fixture
def provider() -> ScriptedProvider:
    return ScriptedProvider(text_reply)
