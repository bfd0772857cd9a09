"""The session state machine driven through a Connection, with a scripted provider."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from rtcore.dialect import Dialect
from rtcore.provider import messages as n

from .conftest import Client, Harness, ScriptedProvider

USER_TEXT = {
    "type": "conversation.item.create",
    "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
}


def append(pcm: bytes) -> dict[str, Any]:
    return {"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()}


def audio_sent(provider: ScriptedProvider) -> bytes:
    return b"".join(c.pcm for c in provider.commands if isinstance(c, n.AppendAudio))


async def settle(client: Client) -> None:
    """Round-trip a harmless event so earlier commands have reached the provider."""
    count = client.types().count("error")
    await client.send({"type": "conversation.item.retrieve", "item_id": "item_none"})
    await client.wait_for("error", count=count + 1)


async def test_unsignalled_beta_pcm16_is_16khz_and_reaches_provider_unchanged() -> None:
    provider = ScriptedProvider(lambda _c: [])
    pcm = bytes(range(256)) * 10
    async with Harness(provider) as client:
        await client.send({"type": "session.update", "session": {"input_audio_format": "pcm16"}})
        await client.send(append(pcm))
        await settle(client)
    assert provider.opened_with[0].input_sample_rate == 24000
    configure = [c for c in provider.commands if isinstance(c, n.Configure)]
    assert configure[-1].config.input_sample_rate == 16000
    assert audio_sent(provider) == pcm


async def test_a_refused_first_update_still_tells_the_provider_the_16khz_rate() -> None:
    """The seed's audio program asks for a voice the model lacks in its first event: the
    update is refused, but the dialect it chose (beta, unsignalled: 16 kHz input) stands,
    so the provider must hear the rate before the audio that follows."""
    provider = ScriptedProvider(lambda _c: [])
    pcm = bytes(range(256)) * 10
    async with Harness(provider) as client:
        await client.send({"type": "session.update", "session": {"voice": "nobody"}})
        refused = await client.wait_for("error")
        await client.send(append(pcm))
        await settle(client)
    assert refused["error"]["param"] == "session.voice"
    configure = [c for c in provider.commands if isinstance(c, n.Configure)]
    assert configure[-1].config.input_sample_rate == 16000
    assert audio_sent(provider) == pcm


async def test_signalled_beta_pcm16_is_24khz_like_openai() -> None:
    provider = ScriptedProvider(lambda _c: [])
    async with Harness(provider, Dialect.BETA) as client:
        await client.send({"type": "session.update", "session": {"input_audio_format": "pcm16"}})
        await client.send(append(b"\x00\x10" * 2400))
        await settle(client)
    assert audio_sent(provider) == b"\x00\x10" * 2400  # 24 kHz is one of the provider's rates


async def test_g711_ulaw_is_decoded_and_upsampled_for_the_provider() -> None:
    provider = ScriptedProvider(lambda _c: [])
    async with Harness(provider, Dialect.GA) as client:
        await client.send(
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {"input": {"format": {"type": "audio/pcmu"}}},
                },
            }
        )
        await client.send(append(b"\xff" * 8000))  # one second of µ-law silence
        await settle(client)
    configure = [c for c in provider.commands if isinstance(c, n.Configure)]
    assert configure[-1].config.input_sample_rate == 16000
    # One second at 16 kHz, 16-bit, less what the streaming resampler still holds.
    assert 29000 <= len(audio_sent(provider)) <= 32000


async def test_vad_turn_events_come_in_openai_order() -> None:
    provider = ScriptedProvider(lambda _c: [])
    async with Harness(provider, Dialect.BETA) as client:
        await client.send(
            {
                "type": "session.update",
                "session": {
                    "modalities": ["text", "audio"],
                    "input_audio_transcription": {"model": "whisper-1"},
                },
            }
        )
        await provider.sessions[0].emit(
            n.SpeechStarted(item_id="item_s1", audio_start_ms=120),
            n.SpeechStopped(item_id="item_s1", audio_end_ms=980),
            n.InputTranscript(item_id="item_s1", text="What's the weather?", final=True),
            n.ResponseStarted(response_id="resp_p1"),
            n.TranscriptDelta(response_id="resp_p1", text="Sunny."),
            n.AudioDelta(response_id="resp_p1", pcm=b"\x00\x00" * 2400),
            n.ResponseDone(response_id="resp_p1"),
        )
        await client.wait_for("response.done")
    types = client.types()
    turn = types[types.index("input_audio_buffer.speech_started") :]
    assert turn[:5] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.created",
        "conversation.item.input_audio_transcription.delta",
    ]
    assert turn[5:9] == [
        "conversation.item.input_audio_transcription.completed",
        "response.created",
        "response.output_item.added",
        "conversation.item.created",
    ]
    started = client.events[types.index("input_audio_buffer.speech_started")]
    committed = client.events[types.index("input_audio_buffer.committed")]
    completed = client.events[types.index("conversation.item.input_audio_transcription.completed")]
    assert started["item_id"] == committed["item_id"] == completed["item_id"]
    assert completed["transcript"] == "What's the weather?"
    # The turn's audio, from where speech started to where it stopped.
    assert completed["usage"] == {"type": "duration", "seconds": 0.86}
    assert turn[-4:] == [
        "response.audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.done",
    ]


async def test_barge_in_cancels_and_truncate_cuts_the_transcript() -> None:
    provider = ScriptedProvider(lambda _c: [])
    async with Harness(provider, Dialect.GA) as client:
        await client.send({"type": "session.update", "session": {"type": "realtime"}})
        await provider.sessions[0].emit(
            n.ResponseStarted(response_id="resp_p1"),
            n.TranscriptDelta(response_id="resp_p1", text="one two three four"),
            n.AudioDelta(response_id="resp_p1", pcm=b"\x00\x00" * 24000),  # 1 s at 24 kHz
            n.SpeechStarted(item_id="item_s1", audio_start_ms=3000),
            n.ResponseDone(response_id="resp_p1", status="cancelled", reason="turn_detected"),
        )
        done = await client.wait_for("response.done")
        assert done["response"]["status"] == "cancelled"
        assert done["response"]["status_details"]["reason"] == "turn_detected"
        item = done["response"]["output"][0]
        assert item["status"] == "incomplete"
        await client.send(
            {
                "type": "conversation.item.truncate",
                "item_id": item["id"],
                "content_index": 0,
                "audio_end_ms": 500,
            }
        )
        truncated = await client.wait_for("conversation.item.truncated")
        assert truncated["audio_end_ms"] == 500
        await client.send(
            {
                "type": "conversation.item.truncate",
                "item_id": item["id"],
                "content_index": 0,
                "audio_end_ms": 5000,
            }
        )
        error = await client.wait_for("error")
        assert error["error"]["param"] == "audio_end_ms"
    cut = [c for c in provider.commands if isinstance(c, n.TruncateItem)]
    assert cut == [n.TruncateItem(item_id=item["id"], audio_end_ms=500, text="one two")]
    # The provider heard of the spoken-over reply when it closed, then of its truncation.
    added = [c for c in provider.commands if isinstance(c, n.AddItem)]
    assert [(a.item.id, a.source) for a in added] == [(item["id"], "model")]


async def test_cancelled_response_swallows_late_output() -> None:
    provider = ScriptedProvider(lambda _c: [])
    async with Harness(provider) as client:
        await client.send({"type": "response.create", "response": {"modalities": ["text"]}})
        await client.wait_for("response.created")
        session = provider.sessions[0]
        first = session.requested
        await client.send({"type": "response.cancel"})
        await client.wait_for("response.done")
        await client.send(USER_TEXT)
        await client.send({"type": "response.create", "response": {"modalities": ["text"]}})
        await client.wait_for("response.created", count=2)
        second_id = session.requested
        # The provider was still talking when the cancel reached it: its late output, even
        # after the next response began, belongs to the cancelled one.
        await session.emit(
            n.TextDelta(response_id=first, text="late"),
            n.TextDelta(response_id=second_id, text="fresh"),
            n.ResponseDone(response_id=first, status="cancelled"),
            n.ResponseDone(response_id=second_id),
        )
        second = await client.wait_for("response.done", count=2)
    deltas = [e["delta"] for e in client.events if e["type"] == "response.text.delta"]
    assert deltas == ["fresh"]
    assert second["response"]["status"] == "completed"


async def test_manual_commit_then_transcript() -> None:
    provider = ScriptedProvider(lambda _c: [])
    async with Harness(provider) as client:
        await client.send(
            {
                "type": "session.update",
                "session": {
                    "turn_detection": None,
                    "input_audio_transcription": {"model": "whisper-1"},
                },
            }
        )
        await client.send(append(b"\x00\x01" * 3200))  # 200 ms at 16 kHz
        await client.send({"type": "input_audio_buffer.commit"})
        committed = await client.wait_for("input_audio_buffer.committed")
        await provider.sessions[0].emit(
            n.InputTranscript(item_id=committed["item_id"], text="hello", final=True)
        )
        completed = await client.wait_for("conversation.item.input_audio_transcription.completed")
    assert completed["item_id"] == committed["item_id"]
    assert completed["usage"] == {"type": "duration", "seconds": 0.2}
    commits = [c for c in provider.commands if isinstance(c, n.CommitAudio)]
    assert commits == [n.CommitAudio(item_id=committed["item_id"])]
    configure = [c for c in provider.commands if isinstance(c, n.Configure)]
    assert configure[0].config.turn_detection is None
    assert "turn_detection" in configure[0].changed


@pytest.mark.parametrize("dialect", [Dialect.BETA, Dialect.GA])
async def test_no_transcription_events_unless_transcription_is_on(dialect: Dialect) -> None:
    """With ``input_audio_transcription`` null (the default) OpenAI's server sends no
    transcription events; the model still hears the transcript as the item's text."""
    provider = ScriptedProvider(lambda _c: [])
    session = {"type": "realtime"} if dialect is Dialect.GA else {"modalities": ["text"]}
    async with Harness(provider, dialect) as client:
        await client.send({"type": "session.update", "session": session})
        await provider.sessions[0].emit(
            n.SpeechStarted(item_id="item_s1", audio_start_ms=0),
            n.SpeechStopped(item_id="item_s1", audio_end_ms=500),
            n.InputTranscript(item_id="item_s1", text="hello", final=False),
            n.InputTranscript(item_id="item_s1", text=" there", final=True),
            n.ResponseStarted(response_id="resp_p1"),
            n.ResponseDone(response_id="resp_p1"),
        )
        await client.wait_for("response.done")
    assert not [t for t in client.types() if "input_audio_transcription" in t]
    updates = [c for c in provider.commands if isinstance(c, n.UpdateItem)]
    assert [u.item.text for u in updates if u.item.id == "item_s1"] == ["hello there"]


async def test_out_of_band_response_echoes_metadata_and_stays_out_of_conversation() -> None:
    provider = ScriptedProvider(lambda _c: [])
    async with Harness(provider) as client:
        await client.send(
            {
                "type": "response.create",
                "response": {
                    "conversation": "none",
                    "metadata": {"topic": "x"},
                    "modalities": ["text"],
                },
            }
        )
        created = await client.wait_for("response.created")
        assert created["response"]["metadata"] == {"topic": "x"}
        rid = provider.sessions[0].requested
        await provider.sessions[0].emit(
            n.TextDelta(response_id=rid, text="aside"), n.ResponseDone(response_id=rid)
        )
        done = await client.wait_for("response.done")
        # Out of band: no conversation item events, no conversation id.
        assert done["response"]["conversation_id"] is None
        assert not [e for e in client.events if e["type"].startswith("conversation.item.")]
        create = [c for c in provider.commands if isinstance(c, n.CreateResponse)]
        assert create[-1].conversation is False
        assert not [c for c in provider.commands if isinstance(c, n.AddItem)]
        assert done["response"]["metadata"] == {"topic": "x"}
        await client.send(
            {"type": "conversation.item.retrieve", "item_id": done["response"]["output"][0]["id"]}
        )
        error = await client.wait_for("error")
        assert error["error"]["code"] == "item_not_found"


async def test_text_only_response_drops_audio_and_turns_transcript_into_text() -> None:
    provider = ScriptedProvider(lambda _c: [])
    async with Harness(provider) as client:
        await client.send({"type": "session.update", "session": {"modalities": ["text"]}})
        await provider.sessions[0].emit(
            n.ResponseStarted(response_id="resp_p1"),
            n.AudioDelta(response_id="resp_p1", pcm=b"\x00\x00" * 100),
            n.TranscriptDelta(response_id="resp_p1", text="words"),
            n.ResponseDone(response_id="resp_p1"),
        )
        await client.wait_for("response.done")
    types = client.types()
    assert "response.audio.delta" not in types
    assert [e["delta"] for e in client.events if e["type"] == "response.text.delta"] == ["words"]


async def test_session_update_tells_the_provider_what_changed() -> None:
    provider = ScriptedProvider(lambda _c: [])
    async with Harness(provider) as client:
        await client.send(
            {
                "type": "session.update",
                "session": {
                    "voice": "tiffany",
                    "instructions": "Be brief.",
                    "tools": [
                        {
                            "type": "function",
                            "function": {"name": "get_weather", "parameters": {"type": "object"}},
                        }
                    ],
                    "tool_choice": {"type": "function", "name": "get_weather"},
                },
            }
        )
        updated = await client.wait_for("session.updated")
        await settle(client)
    assert updated["session"]["tools"][0]["name"] == "get_weather"
    (configure,) = [c for c in provider.commands if isinstance(c, n.Configure)]
    # The first beta-shaped update also settles the input rate (16 kHz, as the seed sends).
    assert configure.changed == {
        "voice",
        "instructions",
        "tools",
        "tool_choice",
        "input_sample_rate",
    }
    assert configure.config.tools[0].parameters == {"type": "object"}
    assert configure.config.tool_choice == "function:get_weather"


async def test_a_long_provider_call_id_reaches_the_client_short_and_maps_back() -> None:
    nova_id = "5a7e2c1e-9b0f-4c43-a3c1-6f2d8e9b1a77"  # a toolUseId: 36 characters

    def tool_call(command: n.Command) -> list[n.Event]:
        if not isinstance(command, n.CreateResponse):
            return []
        rid = command.response_id
        call = n.ToolCall(response_id=rid, call_id=nova_id, name="get_weather", arguments="{}")
        return [call, n.ResponseDone(response_id=rid)]

    provider = ScriptedProvider(tool_call)
    async with Harness(provider, Dialect.GA) as client:
        await client.send({"type": "response.create"})
        done = await client.wait_for("response.done")
        call_id = done["response"]["output"][0]["call_id"]
        output = {"type": "function_call_output", "call_id": call_id, "output": '{"t": 21}'}
        await client.send({"type": "conversation.item.create", "item": output})
        await client.wait_for("conversation.item.done", 2)
    assert len(call_id) <= 32
    assert call_id.startswith("call_")
    args = [e for e in client.events if e["type"] == "response.function_call_arguments.done"]
    assert args[0]["call_id"] == call_id
    added = [c.item for c in provider.commands if isinstance(c, n.AddItem)]
    # The provider hears of both under its own id.
    assert [(type(i).__name__, i.call_id) for i in added] == [  # type: ignore[union-attr]
        ("FunctionCall", nova_id),
        ("FunctionCallOutput", nova_id),
    ]


async def test_a_failed_response_says_why_in_its_status_and_in_one_error_event() -> None:
    provider = ScriptedProvider(lambda _c: [])
    async with Harness(provider, Dialect.GA) as client:
        await client.send({"type": "response.create"})
        await client.wait_for("response.created")
        rid = provider.sessions[0].requested
        why = n.ResponseError(code="stream_stalled", message="Bedrock stopped answering.")
        await provider.sessions[0].emit(
            n.ResponseDone(response_id=rid, status="failed", error=why),
            # The session then ends on the same failure: the client hears of it once.
            n.ProviderError(code=why.code, message=why.message, fatal=True),
        )
        done = await client.wait_for("response.done")
        error = await client.wait_for("error")
    details = done["response"]["status_details"]
    assert details["type"] == "failed"
    assert details["error"] == {
        "type": "server_error",
        "code": "stream_stalled",
        "message": "Bedrock stopped answering.",
    }
    assert (error["error"]["type"], error["error"]["code"]) == ("server_error", "stream_stalled")
    assert [e["type"] for e in client.events].count("error") == 1
    assert client.conn.failure is not None  # the transport closes with an error code
