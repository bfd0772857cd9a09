"""Text turns through the real SDK: the Gemini API and Vertex, every API version."""

from __future__ import annotations

import pytest
from google import genai

from rtcore_gemini_emulator import GeminiLiveEmulator
from tests.gemini_emulator.conftest import (
    GEMINI_MODEL,
    TEXT_MODEL,
    VERTEX_MODEL,
    gemini_client,
    next_turn,
    vertex_client,
)


async def test_text_turn_with_text_output(
    client: genai.Client, emulator: GeminiLiveEmulator
) -> None:
    async with client.aio.live.connect(
        model=TEXT_MODEL, config={"response_modalities": ["TEXT"]}
    ) as session:
        assert session.session_id
        await session.send_client_content(
            turns={"role": "user", "parts": [{"text": "Hello there"}]}, turn_complete=True
        )
        turn = await next_turn(session)
    assert turn.text == "You said: Hello there"
    assert turn.has("generation_complete")
    assert turn.messages[-1].server_content.turn_complete
    assert emulator.stats.setups[0].model == f"models/{TEXT_MODEL}"
    assert emulator.stats.setups[0].setup["generationConfig"] == {"responseModalities": ["TEXT"]}


async def test_text_turn_with_audio_output_and_transcription(client: genai.Client) -> None:
    async with client.aio.live.connect(
        model=GEMINI_MODEL, config={"output_audio_transcription": {}}
    ) as session:
        await session.send_client_content(
            turns={"role": "user", "parts": [{"text": "Hi"}]}, turn_complete=True
        )
        turn = await next_turn(session)
    assert turn.output_transcript == "You said: Hi"
    assert turn.text == ""
    assert len(turn.audio) > 24000  # more than half a second of 24 kHz PCM16
    mimes = {
        part.inline_data.mime_type
        for m in turn.messages
        if m.server_content and m.server_content.model_turn
        for part in m.server_content.model_turn.parts or []
        if part.inline_data
    }
    assert mimes == {"audio/pcm;rate=24000"}


@pytest.mark.parametrize("version", ["v1", "v1beta", "v1alpha"])
async def test_every_gemini_api_version(emulator: GeminiLiveEmulator, version: str) -> None:
    client = gemini_client(emulator, api_version=version)
    async with client.aio.live.connect(
        model=TEXT_MODEL, config={"response_modalities": ["TEXT"]}
    ) as session:
        await session.send_client_content(
            turns={"role": "user", "parts": [{"text": version}]}, turn_complete=True
        )
        assert (await next_turn(session)).text == f"You said: {version}"


@pytest.mark.parametrize("version", ["v1beta1", "v1"])
async def test_vertex_text_turn(emulator: GeminiLiveEmulator, version: str) -> None:
    client = vertex_client(emulator, api_version=version)
    async with client.aio.live.connect(
        model=VERTEX_MODEL, config={"output_audio_transcription": {}}
    ) as session:
        await session.send_client_content(
            turns={"role": "user", "parts": [{"text": "Hello"}]}, turn_complete=True
        )
        turn = await next_turn(session)
    assert turn.output_transcript == "You said: Hello"
    assert emulator.stats.setups[0].model == (
        f"projects/emulator-project/locations/us-central1/publishers/google/models/{VERTEX_MODEL}"
    )
