"""Failover mid-session, in the core: a session whose upstream fails for good moves to the
next deployment (another provider here, with other rates, voices and prices), which is
given the conversation, the speech nobody answered and the reply nobody heard; the client
sees at most one failed reply.

The providers are scripted fakes (these are the core's unit tests); the same moves over
real SDKs and emulators are tested in tests/failover.
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from rtcore.config.sections import Routing
from rtcore.gateway import Gateway
from rtcore.provider import Capabilities, ModelConfig, Prices, ProviderSpec
from rtcore.provider import messages as n
from rtcore.telemetry.metrics import exposition
from tests.core.conftest import Client, Script, ScriptedProvider, ScriptedSession, text_reply
from tests.transports.test_operations import sample

FATAL = n.ProviderError(code="rate_limit_exceeded", message="Too many requests.", fatal=True)


class Vendor(ScriptedProvider):
    """A scripted provider with its own rates, voices and prices."""

    def __init__(
        self,
        script: Script,
        *,
        rate: int,
        voices: tuple[str, ...],
        prices: Prices | None = None,
    ) -> None:
        super().__init__(script)
        self.rate = rate
        self.voices = voices
        self.prices = prices
        self.fail_opens = 0

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            input_sample_rates=(self.rate,),
            output_sample_rates=(24000,),
            voices=self.voices,
            default_voice=self.voices[0],
            prices=self.prices,
        )

    async def open_session(self, config: n.SessionConfig) -> ScriptedSession:
        if self.fail_opens:
            from rtcore.provider import ProviderUnavailable

            self.fail_opens -= 1
            raise ProviderUnavailable("down", code="provider_unavailable")
        return await super().open_session(config)


def added(session: ScriptedSession) -> list[n.AddItem]:
    return [c for c in session.commands if isinstance(c, n.AddItem)]


def tone(ms: int, rate: int) -> bytes:
    """A loud 440 Hz tone: speech to the gateway's energy measure."""
    count = rate * ms // 1000
    return b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(count)
    )


@asynccontextmanager
async def session(
    primary: Vendor,
    backup: Vendor,
    *,
    backup_info: Mapping[str, object] | None = None,
    primary_info: Mapping[str, object] | None = None,
    cooldown: float = 60.0,
) -> AsyncIterator[Client]:
    specs = {
        "a": ProviderSpec(name="a", factory=lambda _m: primary, default_model="a-1"),
        "b": ProviderSpec(name="b", factory=lambda _m: backup, default_model="b-1"),
    }
    gateway = Gateway(
        [
            ModelConfig(name="voice", provider="a", model="a-1", info=primary_info or {}),
            ModelConfig(name="voice-backup", provider="b", model="b-1", info=backup_info or {}),
        ],
        specs,
        max_message_bytes=1 << 20,
        routing=Routing(cooldown_seconds=cooldown, fallbacks={"voice": ("voice-backup",)}),
    )
    async with gateway.connect(gateway.resolve_model("voice")) as conn:
        client = Client(conn)
        pump = asyncio.create_task(client.pump())
        await client.wait_for("session.created")
        try:
            yield client
        finally:
            await conn.finish()
    await asyncio.wait_for(pump, 5)
    await gateway.aclose()


def user_text(text: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        },
    }


async def test_a_reply_cut_off_fails_once_and_the_next_model_takes_the_conversation() -> None:
    def dies_mid_reply(command: n.Command) -> list[n.Event]:
        if not isinstance(command, n.CreateResponse):
            return []
        rid = command.response_id
        return [
            n.TextDelta(response_id=rid, text="Half a"),
            # What a kit provider sends when its upstream is gone for good.
            n.ResponseDone(
                response_id=rid,
                status="failed",
                error=n.ResponseError(code=FATAL.code, message=FATAL.message),
            ),
            FATAL,
        ]

    primary = Vendor(dies_mid_reply, rate=16000, voices=("matthew",))
    backup = Vendor(text_reply, rate=24000, voices=("puck",))
    async with session(primary, backup) as client:
        await client.send(user_text("What time is it?"))
        await client.send({"type": "response.create", "response": {"modalities": ["text"]}})
        failed = await client.wait_for("response.done")
        assert failed["response"]["status"] == "failed"
        errors = [e for e in client.events if e["type"] == "error"]
        assert [e["error"]["code"] for e in errors] == ["rate_limit_exceeded"]
        assert "another model" in errors[0]["error"]["message"]
        # The session goes on, on the backup: the next reply is whole.
        await client.send(user_text("And now?"))
        await client.send({"type": "response.create", "response": {"modalities": ["text"]}})
        done = await client.wait_for("response.done", 2)
        assert done["response"]["status"] == "completed"
        assert client.conn.switches == [("failover", "voice", "voice-backup")]
        record = client.conn.meter.record(
            key_hash=None,
            key_alias=None,
            model="b-1",
            model_group="voice",
            deployment="voice-backup",
            end_reason="client_closed",
        )
    # Each reply is on record under the model that produced it.
    assert [(r.status, r.deployment) for r in record.responses] == [
        ("failed", "voice"),
        ("completed", "voice-backup"),
    ]
    (new,) = backup.sessions
    history = [a.item for a in added(new)]
    texts = [item.text for item in history if isinstance(item, n.Message)]
    # The user's turn and the words the client got of the cut-off reply, given as
    # history; then the next turn, and the backup's own reply to it.
    assert texts == ["What time is it?", "Half a", "And now?", "Hello there"]
    assert [a.source for a in added(new)] == ["client", "client", "client", "model"]
    assert backup.opened_with[0].voice == "puck"  # matthew is not one of its voices
    assert [e["type"] for e in client.events].count("session.created") == 1


async def test_a_reply_nothing_of_which_went_out_is_asked_again_under_its_id() -> None:
    def dies_before_output(command: n.Command) -> list[n.Event]:
        if not isinstance(command, n.CreateResponse):
            return []
        error = n.ResponseError(code="stream_ended", message="Gone.")
        done = n.ResponseDone(response_id=command.response_id, status="failed", error=error)
        return [done, n.ProviderError(code="stream_ended", message="Gone.", fatal=True)]

    primary = Vendor(dies_before_output, rate=16000, voices=("matthew",))
    backup = Vendor(text_reply, rate=16000, voices=("matthew",))
    async with session(primary, backup) as client:
        await client.send(user_text("Hello?"))
        await client.send({"type": "response.create", "response": {"modalities": ["text"]}})
        done = await client.wait_for("response.done")
    assert done["response"]["status"] == "completed", done
    assert "error" not in client.types()
    assert client.types().count("response.created") == 1
    (asked,) = [c for c in backup.commands if isinstance(c, n.CreateResponse)]
    assert asked.response_id == done["response"]["id"]
    # The conversation first, then the question again (then the reply's own item).
    kinds = [type(c).__name__ for c in backup.commands]
    assert kinds == ["AddItem", "CreateResponse", "AddItem"]


async def test_speech_the_failed_upstream_never_answered_is_sent_again_at_the_new_rate() -> None:
    primary = Vendor(lambda _c: [], rate=16000, voices=("matthew",))
    backup = Vendor(lambda _c: [], rate=24000, voices=("matthew",))
    async with session(primary, backup) as client:
        await client.send({"type": "session.update", "session": {"input_audio_format": "pcm16"}})
        speech = tone(600, 24000)
        await client.send({"type": "input_audio_buffer.append", "audio": _b64(speech)})
        await primary.sessions[0].emit(FATAL)
        await _until(lambda: bool(backup.sessions))
        await _until(lambda: any(isinstance(c, n.AppendAudio) for c in backup.commands))
        sent = sum(len(c.pcm) for c in primary.commands if isinstance(c, n.AppendAudio))
        again = sum(len(c.pcm) for c in backup.commands if isinstance(c, n.AppendAudio))
        assert client.conn.replayed_audio == sent
    # 16 kHz for the primary, 24 kHz for the backup: the same speech, half as many bytes
    # again (within the resampler's edge).
    assert abs(again - sent * 1.5) <= 64, (sent, again)


async def test_a_committed_turn_the_failed_upstream_never_heard_is_committed_again() -> None:
    # Push-to-talk: the client committed its speech, and the upstream failed before it
    # said a word of it. The turn has no transcript to go as history: its audio goes to the
    # next model again, committed as the same item, or the turn would be lost.
    primary = Vendor(lambda _c: [], rate=16000, voices=("matthew",))
    backup = Vendor(text_reply, rate=24000, voices=("matthew",))
    async with session(primary, backup) as client:
        await client.send(
            {
                "type": "session.update",
                "session": {"input_audio_format": "pcm16", "turn_detection": None},
            }
        )
        await client.send({"type": "input_audio_buffer.append", "audio": _b64(tone(600, 24000))})
        await client.send({"type": "input_audio_buffer.commit"})
        committed = await client.wait_for("input_audio_buffer.committed")
        await primary.sessions[0].emit(FATAL)
        await _until(lambda: any(isinstance(c, n.CommitAudio) for c in backup.commands))
        await client.send({"type": "response.create", "response": {"modalities": ["text"]}})
        await client.wait_for("response.done")
    sent = sum(len(c.pcm) for c in primary.commands if isinstance(c, n.AppendAudio))
    kinds = [type(c).__name__ for c in backup.commands]
    # (The last: the backup's reply, as its own item.)
    assert kinds == ["AppendAudio", "CommitAudio", "AddItem", "CreateResponse", "AddItem"]
    again, commit, item = backup.commands[:3]
    assert isinstance(again, n.AppendAudio)
    assert isinstance(commit, n.CommitAudio)
    assert isinstance(item, n.AddItem)
    # The same turn, at the backup's rate, under the item id the client was told of.
    assert abs(len(again.pcm) - sent * 1.5) <= 64, (sent, len(again.pcm))
    assert commit.item_id == item.item.id == committed["item_id"]
    assert item.source == "audio"
    assert client.types().count("input_audio_buffer.committed") == 1


async def test_what_the_client_sends_during_the_move_waits_for_the_new_upstream() -> None:
    gate = asyncio.Event()

    class SlowBackup(Vendor):
        async def open_session(self, config: n.SessionConfig) -> ScriptedSession:
            await gate.wait()
            return await super().open_session(config)

    primary = Vendor(lambda _c: [], rate=16000, voices=("matthew",))
    backup = SlowBackup(text_reply, rate=16000, voices=("matthew",))
    async with session(primary, backup) as client:
        await client.send(user_text("First."))
        await primary.sessions[0].emit(FATAL)
        await asyncio.sleep(0)  # the reader takes the failure and begins the move
        sending = asyncio.create_task(client.send(user_text("Second.")))
        await asyncio.sleep(0.05)
        assert not sending.done()  # held while the new upstream opens
        gate.set()
        await sending
        await client.send({"type": "response.create", "response": {"modalities": ["text"]}})
        await client.wait_for("response.done")
    texts = [a.item.text for a in added(backup.sessions[0]) if isinstance(a.item, n.Message)]
    assert texts == ["First.", "Second.", "Hello there"]


async def test_with_nowhere_to_go_the_failure_ends_the_session_as_before() -> None:
    primary = Vendor(lambda _c: [], rate=16000, voices=("matthew",))
    backup = Vendor(lambda _c: [], rate=16000, voices=("matthew",))
    backup.fail_opens = 1
    async with session(primary, backup) as client:
        await primary.sessions[0].emit(FATAL)
        await _until(lambda: client.conn.failure is not None)
    assert client.conn.failure == FATAL
    assert [e["error"]["code"] for e in client.events if e["type"] == "error"] == [FATAL.code]
    assert client.conn.switches == []


async def test_a_failure_of_the_clients_own_making_is_not_failed_over() -> None:
    primary = Vendor(lambda _c: [], rate=16000, voices=("matthew",))
    backup = Vendor(lambda _c: [], rate=16000, voices=("matthew",))
    refused = n.ProviderError(code="invalid_value", message="Bad instructions.", fatal=True)
    async with session(primary, backup) as client:
        await primary.sessions[0].emit(refused)
        await _until(lambda: client.conn.failure is not None)
    assert not backup.sessions


async def test_the_voice_is_mapped_and_each_model_charges_its_own_prices() -> None:
    cheap, dear = Prices(input_text=1.0, output_text=1.0), Prices(input_text=10.0, output_text=10.0)
    primary = Vendor(text_reply, rate=16000, voices=("matthew", "tiffany"), prices=cheap)
    backup = Vendor(text_reply, rate=16000, voices=("puck", "kore"), prices=dear)
    async with session(primary, backup, backup_info={"voice_map": {"tiffany": "kore"}}) as client:
        await client.send({"type": "session.update", "session": {"voice": "tiffany"}})
        await client.send({"type": "response.create", "response": {"modalities": ["text"]}})
        await client.wait_for("response.done")
        await primary.sessions[0].emit(FATAL)
        await _until(lambda: bool(backup.sessions))
        await client.send({"type": "response.create", "response": {"modalities": ["text"]}})
        await client.wait_for("response.done", 2)
        spend = client.conn.meter.spend
    assert backup.opened_with[0].voice == "kore"
    # text_reply's usage: 5 tokens in, 2 out, on each model at its prices.
    assert spend == 7 * 1.0 + 7 * 10.0


async def test_back_to_the_preferred_deployment_at_a_turn_boundary_once_healthy() -> None:
    primary = Vendor(text_reply, rate=16000, voices=("matthew",))
    backup = Vendor(text_reply, rate=16000, voices=("matthew",))
    async with session(primary, backup, primary_info={"failback": True}, cooldown=0.0) as client:
        await primary.sessions[0].emit(FATAL)
        await _until(lambda: bool(backup.sessions))
        await client.send(user_text("Still there?"))
        await client.send({"type": "response.create", "response": {"modalities": ["text"]}})
        await client.wait_for("response.done")
        await _until(lambda: len(primary.sessions) == 2)
        await client.send({"type": "response.create", "response": {"modalities": ["text"]}})
        await client.wait_for("response.done", 2)
        assert client.conn.switches == [
            ("failover", "voice", "voice-backup"),
            ("failback", "voice-backup", "voice"),
        ]
    # Back home, the preferred model was given the whole conversation, then answered.
    history = [a.item for a in added(primary.sessions[1])]
    assert next(i.text for i in history if isinstance(i, n.Message)) == "Still there?"
    assert any(isinstance(c, n.CreateResponse) for c in primary.sessions[1].commands)
    text, _ = exposition()
    assert (
        sample(text.decode(), "rtcore_upstream_switches_total", reason="failback", to="voice") >= 1
    )


async def _until(condition: Any, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 (state of fakes, not an event)
            await asyncio.sleep(0.01)


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


class LazySession(ScriptedSession):
    """Opens its upstream only when asked to prove it (as Nova's stream does): what it was
    given by then is what the stream opens with."""

    def __init__(self, script: Script, commands: list[n.Command]) -> None:
        super().__init__(script, commands)
        self.opened_with_items: list[n.AddItem] | None = None

    async def connected(self) -> None:
        self.opened_with_items = added(self)


class LazyVendor(Vendor):
    async def open_session(self, config: n.SessionConfig) -> ScriptedSession:
        self.opened_with.append(config)
        lazy = LazySession(self.script, self.commands)
        self.sessions.append(lazy)
        return lazy


async def test_the_new_upstream_has_the_conversation_before_it_proves_itself_open() -> None:
    primary = Vendor(text_reply, rate=16000, voices=("matthew",))
    backup = LazyVendor(text_reply, rate=16000, voices=("matthew",))
    async with session(primary, backup) as client:
        await client.send(user_text("Hello?"))
        await client.send({"type": "response.create", "response": {"modalities": ["text"]}})
        await client.wait_for("response.done")
        await primary.sessions[0].emit(FATAL)
        await _until(lambda: bool(client.conn.switches))
    (new,) = backup.sessions
    assert isinstance(new, LazySession)
    # The whole conversation, as history a stream opens with; nothing after it.
    assert new.opened_with_items is not None
    given = [a.item.text for a in new.opened_with_items if isinstance(a.item, n.Message)]
    assert given == ["Hello?", "Hello there"]
