"""Session life: resumption, goAway and the lifetimes, usage per backend, errors, faults,
and the key spellings and raw paths the service accepts."""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any

import pytest
import websockets
from google import genai

from rtcore_gemini_emulator import GeminiLiveEmulator
from tests.gemini_emulator.conftest import (
    API_KEY,
    GEMINI_MODEL,
    TEXT_MODEL,
    VERTEX_MODEL,
    gemini_client,
    next_message,
    next_turn,
    vertex_client,
)

TEXT = {"response_modalities": ["TEXT"]}


async def say(session: Any, text: str) -> Any:
    await session.send_client_content(
        turns={"role": "user", "parts": [{"text": text}]}, turn_complete=True
    )
    return await next_turn(session)


async def handle_after(session: Any) -> str:
    """The handle of the sessionResumptionUpdate that follows a turnComplete (§4.1)."""
    update = (await next_message(session)).session_resumption_update
    assert update is not None
    assert update.resumable is True
    assert update.new_handle
    return update.new_handle


async def test_resumption_restores_the_history(
    client: genai.Client, emulator: GeminiLiveEmulator
) -> None:
    config = {**TEXT, "session_resumption": {}}
    async with client.aio.live.connect(model=TEXT_MODEL, config=config) as session:
        turn = await say(session, "My name is Ada.")
        handle = await handle_after(session)
    (update,) = turn.handles
    assert update.resumable is False  # while generating
    resumed = {**TEXT, "session_resumption": {"handle": handle}}
    async with client.aio.live.connect(model=TEXT_MODEL, config=resumed) as session:
        turn = await say(session, "What did I say before?")
    assert turn.text == "Before, you said: My name is Ada."
    assert emulator.stats.resumptions == 1
    # A fresh session has no such memory.
    async with client.aio.live.connect(model=TEXT_MODEL, config=TEXT) as session:
        turn = await say(session, "What did I say before?")
    assert turn.text == "You have not said anything before."


async def test_unknown_handle_or_another_model_is_refused(
    client: genai.Client, emulator: GeminiLiveEmulator
) -> None:
    config = {**TEXT, "session_resumption": {"handle": "never-issued"}}
    with pytest.raises(genai.errors.APIError) as caught:
        async with client.aio.live.connect(model=TEXT_MODEL, config=config):
            pass
    assert caught.value.code == 1007
    async with client.aio.live.connect(
        model=TEXT_MODEL, config={**TEXT, "session_resumption": {}}
    ) as session:
        await say(session, "Hi")
        handle = await handle_after(session)
    with pytest.raises(genai.errors.APIError) as caught:
        async with client.aio.live.connect(
            model=GEMINI_MODEL, config={"session_resumption": {"handle": handle}}
        ):
            pass
    assert caught.value.code == 1007


async def test_go_away_then_deadline(cert_dir: Any) -> None:
    async with GeminiLiveEmulator(
        cert_dir=cert_dir, realtime_factor=0, connection_lifetime=1.0, go_away_notice=0.5
    ) as emu:
        client = gemini_client(emu)
        async with client.aio.live.connect(model=TEXT_MODEL, config=TEXT) as session:
            first = await next_message(session)
            assert first.go_away is not None
            assert first.go_away.time_left is not None
            with pytest.raises(genai.errors.APIError) as caught:
                await next_message(session)
    assert caught.value.code == 1011
    assert "Deadline expired before operation could complete." in str(caught.value)


async def test_session_lifetime_spans_resumptions(cert_dir: Any) -> None:
    async with GeminiLiveEmulator(
        cert_dir=cert_dir, realtime_factor=0, session_lifetime=1.0, go_away_notice=0
    ) as emu:
        client = gemini_client(emu)
        config = {**TEXT, "session_resumption": {}}
        async with client.aio.live.connect(model=TEXT_MODEL, config=config) as session:
            await say(session, "Hi")
            handle = await handle_after(session)
            with pytest.raises(genai.errors.APIError) as caught:
                await next_message(session)
        assert caught.value.code == 1011
        # The session has ended: its handle no longer resumes it.
        with pytest.raises(genai.errors.APIError) as caught:
            async with client.aio.live.connect(
                model=TEXT_MODEL, config={**TEXT, "session_resumption": {"handle": handle}}
            ):
                pass
        assert caught.value.code == 1007
        # With context window compression the session is not capped.
        compressed = {**TEXT, "context_window_compression": {"sliding_window": {}}}
        async with client.aio.live.connect(model=TEXT_MODEL, config=compressed) as session:
            await asyncio.sleep(0)
            assert (await say(session, "Hi")).text == "You said: Hi"


async def test_usage_names_per_backend(emulator: GeminiLiveEmulator) -> None:
    for client, model in (
        (gemini_client(emulator), GEMINI_MODEL),
        (vertex_client(emulator), VERTEX_MODEL),
    ):
        async with client.aio.live.connect(model=model) as session:
            usage = (await say(session, "Hello there")).usage
        assert usage.response_token_count is not None
        assert usage.response_token_count > 0
        assert usage.prompt_token_count == 3  # "Hello there": 11 characters, 4 per token
        assert usage.total_token_count == usage.prompt_token_count + usage.response_token_count
        (detail,) = usage.response_tokens_details or []
        assert detail.modality is not None
        assert detail.modality.value == "AUDIO"


async def test_wire_usage_fields_differ_per_backend(emulator: GeminiLiveEmulator) -> None:
    """What goes over the wire (the SDK renames Vertex's fields)."""
    gemini = await _raw_turn(
        emulator,
        f"/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key={API_KEY}",
        {},
        f"models/{TEXT_MODEL}",
    )
    assert "responseTokenCount" in gemini
    assert "responseTokensDetails" in gemini
    token = emulator.issue_access_token()
    vertex = await _raw_turn(
        emulator,
        "/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent",
        {"Authorization": f"Bearer {token}"},
        f"projects/p/locations/l/publishers/google/models/{VERTEX_MODEL}",
    )
    assert "candidatesTokenCount" in vertex
    assert "candidatesTokensDetails" in vertex
    assert "responseTokenCount" not in vertex


async def _raw_turn(
    emu: GeminiLiveEmulator, path: str, headers: dict[str, str], model: str
) -> dict[str, Any]:
    """A raw client, camelCase keys and the query-string key: the usage of one turn."""
    context = ssl.create_default_context(cafile=str(emu.ca_file))
    async with websockets.connect(
        f"wss://localhost:{emu.port}{path}", ssl=context, additional_headers=headers
    ) as ws:
        await ws.send(
            json.dumps(
                {"setup": {"model": model, "generationConfig": {"responseModalities": ["AUDIO"]}}}
            )
        )
        assert "setupComplete" in json.loads(await ws.recv())
        await ws.send(
            json.dumps(
                {
                    "clientContent": {
                        "turns": [{"role": "user", "parts": [{"text": "Hi"}]}],
                        "turnComplete": True,
                    }
                }
            )
        )
        while True:
            message = json.loads(await ws.recv())
            if message.get("serverContent", {}).get("turnComplete"):
                return dict(message["usageMetadata"])


async def test_snake_and_camel_keys(emulator: GeminiLiveEmulator) -> None:
    context = ssl.create_default_context(cafile=str(emulator.ca_file))
    path = "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent"
    async with websockets.connect(
        f"wss://localhost:{emulator.port}{path}?key={API_KEY}", ssl=context
    ) as ws:
        await ws.send(
            json.dumps(
                {
                    "setup": {
                        "model": f"models/{GEMINI_MODEL}",
                        "generation_config": {
                            "speechConfig": {
                                "voice_config": {"prebuilt_voice_config": {"voice_name": "Kore"}}
                            }
                        },
                        "output_audio_transcription": {},
                        "realtimeInputConfig": {"automatic_activity_detection": {"disabled": True}},
                    }
                }
            )
        )
        assert "setupComplete" in json.loads(await ws.recv())
        await ws.send(json.dumps({"realtime_input": {"activity_start": {}}}))
        await ws.send(json.dumps({"realtimeInput": {"text": "Hello"}}))
        await ws.send(json.dumps({"realtime_input": {"activityEnd": {}}}))
        transcript = ""
        while True:
            message = json.loads(await ws.recv())
            content = message.get("serverContent", {})
            transcript += content.get("outputTranscription", {}).get("text", "")
            if content.get("turnComplete"):
                break
    assert transcript == "You said: Hello"


@pytest.mark.parametrize(
    ("model", "code", "reason"),
    [
        (
            "gemini-live-2.5-flash-preview",
            1008,
            "models/gemini-live-2.5-flash-preview is not found for API version v1",
        ),
        (GEMINI_MODEL + "~bad-setup", 1007, "Request contains an invalid argument."),
        (GEMINI_MODEL + "~quota", 1011, "You exceeded your current quota"),
        (GEMINI_MODEL + "~quota=1008", 1008, "You exceeded your current quota"),
        (GEMINI_MODEL + "~exhausted", 1011, "Resource has been exhausted (e.g. check quota)."),
    ],
)
async def test_closes_at_setup(client: genai.Client, model: str, code: int, reason: str) -> None:
    with pytest.raises(genai.errors.APIError) as caught:
        async with client.aio.live.connect(model=model):
            pass
    assert caught.value.code == code
    assert reason in str(caught.value)


async def test_bad_api_key(emulator: GeminiLiveEmulator) -> None:
    emulator.settings.rejected_keys.add("revoked")
    with pytest.raises(genai.errors.APIError) as caught:
        async with gemini_client(emulator, api_key="revoked").aio.live.connect(model=GEMINI_MODEL):
            pass
    assert caught.value.code == 1007
    assert "API key not valid. Please pass a valid API key." in str(caught.value)


async def test_vertex_token_not_issued_here_is_refused(emulator: GeminiLiveEmulator) -> None:
    from google.oauth2.credentials import Credentials

    client = vertex_client(emulator, Credentials(token="made-up"))
    with pytest.raises(websockets.InvalidStatus) as caught:
        async with client.aio.live.connect(model=VERTEX_MODEL):
            pass
    assert caught.value.response.status_code == 401
    assert emulator.stats.refused == 1


async def test_second_setup_closes_1007(client: genai.Client) -> None:
    async with client.aio.live.connect(model=TEXT_MODEL, config=TEXT) as session:
        await session._ws.send(json.dumps({"setup": {"model": f"models/{TEXT_MODEL}"}}))
        with pytest.raises(genai.errors.APIError) as caught:
            await next_message(session)
    assert caught.value.code == 1007


@pytest.mark.parametrize(
    ("fault", "code", "reason"),
    [
        ("internal", 1011, "Internal error encountered."),
        ("unavailable@1", 1011, "The service is currently unavailable."),
        ("exhausted@2", 1011, "Resource has been exhausted"),
    ],
)
async def test_faults_in_a_turn(
    client: genai.Client, emulator: GeminiLiveEmulator, fault: str, code: int, reason: str
) -> None:
    emulator.inject(fault)
    async with client.aio.live.connect(model=TEXT_MODEL, config=TEXT) as session:
        if fault.endswith("@2"):
            assert (await say(session, "one")).text == "You said: one"
        with pytest.raises(genai.errors.APIError) as caught:
            await say(session, "two")
    assert caught.value.code == code
    assert reason in str(caught.value)


async def test_reset_drops_the_connection(
    client: genai.Client, emulator: GeminiLiveEmulator
) -> None:
    emulator.inject("reset")
    async with client.aio.live.connect(model=TEXT_MODEL, config=TEXT) as session:
        with pytest.raises(genai.errors.APIError) as caught:
            await say(session, "Hi")
    assert caught.value.code == 1006


async def test_stall_says_nothing_more(client: genai.Client, emulator: GeminiLiveEmulator) -> None:
    emulator.inject("stall")
    async with client.aio.live.connect(model=TEXT_MODEL, config=TEXT) as session:
        await session.send_client_content(
            turns={"role": "user", "parts": [{"text": "Hi"}]}, turn_complete=True
        )
        first = await next_message(session)  # the turn's first output, then silence
        assert first.server_content is not None
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(next_message(session), 0.5)
    assert emulator.stats.turns == 1


def test_bad_fault_specs_fail_fast() -> None:
    from rtcore_gemini_emulator.faults import FaultSpecError, parse

    for spec in ("nope", "bad-setup@2", "stall@0", "lifetime=x", "quota=abc"):
        with pytest.raises(FaultSpecError):
            parse([spec])
    assert parse(["lifetime=5", "internal@3"]).lifetime == 5.0


async def test_a_struck_fault_hits_the_next_turn_of_an_open_connection(
    client: genai.Client, emulator: GeminiLiveEmulator
) -> None:
    async with client.aio.live.connect(model=TEXT_MODEL, config=TEXT) as session:
        assert (await say(session, "one")).text == "You said: one"
        emulator.strike("internal")  # the connection is open already
        with pytest.raises(genai.errors.APIError) as caught:
            await say(session, "two")
    assert caught.value.code == 1011
    assert emulator.stats.connections == 1


async def test_mute_takes_the_turn_and_says_nothing_more(
    client: genai.Client, emulator: GeminiLiveEmulator
) -> None:
    emulator.inject("mute")
    async with client.aio.live.connect(model=TEXT_MODEL, config=TEXT) as session:
        await session.send_client_content(
            turns={"role": "user", "parts": [{"text": "Hi"}]}, turn_complete=True
        )
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(next_message(session), 0.5)
    assert emulator.stats.turns == 1


async def test_a_retired_model_is_refused_as_unknown_from_then_on(
    client: genai.Client, emulator: GeminiLiveEmulator
) -> None:
    async with client.aio.live.connect(model=TEXT_MODEL, config=TEXT) as session:
        emulator.retire(TEXT_MODEL)
        # A connection open already goes on.
        assert (await say(session, "one")).text == "You said: one"
    with pytest.raises(genai.errors.APIError) as caught:
        async with client.aio.live.connect(model=TEXT_MODEL, config=TEXT):
            pass
    assert caught.value.code == 1008
    assert "is not found for API version" in str(caught.value)
