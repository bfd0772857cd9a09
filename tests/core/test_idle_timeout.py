"""turn_detection.idle_timeout_ms, kept by the core for every provider: silence that long
after a reply has played out is announced, committed as a user item and answered."""

from __future__ import annotations

import base64
from typing import Any

from rtcore.dialect import Dialect
from rtcore.provider import messages as n
from tests.core.conftest import Client, Harness, ScriptedProvider, text_reply

RATE = 24000


async def append_silence(client: Client, seconds: float) -> None:
    chunk = base64.b64encode(bytes(RATE * 2 // 10)).decode()  # 100 ms
    for _ in range(round(seconds * 10)):
        await client.send({"type": "input_audio_buffer.append", "audio": chunk})


def session(idle_ms: int) -> dict[str, Any]:
    td = {"type": "server_vad", "idle_timeout_ms": idle_ms}
    return {"type": "realtime", "audio": {"input": {"turn_detection": td}}}


async def test_silence_after_a_reply_is_announced_committed_and_answered() -> None:
    provider = ScriptedProvider(text_reply)
    async with Harness(provider, Dialect.GA) as client:
        await client.send({"type": "session.update", "session": session(1000)})
        updated = await client.wait_for("session.updated")
        assert updated["session"]["audio"]["input"]["turn_detection"]["idle_timeout_ms"] == 1000
        await client.send({"type": "response.create"})
        await client.wait_for("response.done")
        await append_silence(client, 0.9)
        assert "input_audio_buffer.timeout_triggered" not in client.types()
        await append_silence(client, 0.2)
        fired = await client.wait_for("input_audio_buffer.timeout_triggered")
        await client.wait_for("response.done", 2)
        # Not again until another reply has ended and the user has been silent again.
        await append_silence(client, 0.5)
    assert fired["audio_start_ms"] == 0
    assert fired["audio_end_ms"] == 1000
    committed = client.events[client.events.index(fired) + 1]
    assert committed["type"] == "input_audio_buffer.committed"
    assert committed["item_id"] == fired["item_id"]
    assert client.types().count("input_audio_buffer.timeout_triggered") == 1
    creates = [c for c in provider.commands if isinstance(c, n.CreateResponse)]
    assert len(creates) == 2
    (silence,) = [c for c in provider.commands if isinstance(c, n.AddItem) and c.source == "audio"]
    assert silence.item.id == fired["item_id"]


async def test_the_wait_starts_when_the_reply_has_played_out() -> None:
    # A reply whose audio arrives faster than real time is still being heard: 5 s of
    # audio sent at once, and 1 s of idle timeout, fire 6 s into the input audio.
    def long_reply(command: n.Command) -> list[n.Event]:
        if not isinstance(command, n.CreateResponse):
            return []
        rid = command.response_id
        five_seconds = b"\x01\x00" * 24000 * 5
        return [n.AudioDelta(response_id=rid, pcm=five_seconds), n.ResponseDone(response_id=rid)]

    provider = ScriptedProvider(long_reply)
    async with Harness(provider, Dialect.GA) as client:
        await client.send({"type": "session.update", "session": session(1000)})
        await client.send({"type": "response.create", "response": {"output_modalities": ["audio"]}})
        await client.wait_for("response.done")
        await append_silence(client, 5.9)
        assert "input_audio_buffer.timeout_triggered" not in client.types()
        await append_silence(client, 0.1)
        fired = await client.wait_for("input_audio_buffer.timeout_triggered")
    assert (fired["audio_start_ms"], fired["audio_end_ms"]) == (5000, 6000)


async def test_speech_stops_the_wait() -> None:
    provider = ScriptedProvider(text_reply)
    async with Harness(provider, Dialect.GA) as client:
        await client.send({"type": "session.update", "session": session(500)})
        await client.send({"type": "response.create"})
        await client.wait_for("response.done")
        await append_silence(client, 0.3)
        await provider.sessions[0].emit(n.SpeechStarted(item_id="item_u", audio_start_ms=300))
        await client.wait_for("input_audio_buffer.speech_started")
        await append_silence(client, 1.0)
    assert "input_audio_buffer.timeout_triggered" not in client.types()
