"""Bedrock's validation, as the real SDK reports it: errors at open and mid-stream."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aws_sdk_bedrock_runtime.models import ValidationException

from rtcore_sonic_emulator import utterance_pcm
from tests.emulator.conftest import V1, V2, V2_5, WEATHER_TOOL
from tests.emulator.sdk_stream import SonicStream


async def expect_error(session: SonicStream, fragment: str) -> None:
    with pytest.raises(ValidationException) as info:
        await session.drain()
    assert fragment in (info.value.message or ""), info.value.message
    await session.aclose(wait=1)


@pytest.mark.parametrize(
    "model",
    [V1, V2, V2_5, "us.amazon.nova-2-sonic-v1:0", "eu.amazon.nova-sonic-v1:0",
     "us.amazon.nova-2-5-sonic"],
)  # fmt: skip
async def test_known_models_and_inference_profiles_open(client: Any, model: str) -> None:
    session = await SonicStream.open(client, model)
    await session.start(voice="tiffany")
    await session.close()
    assert await session.next() is None


async def test_unknown_model_is_rejected_at_open(client: Any) -> None:
    session = await SonicStream.open(client, "amazon.titan-text-express-v1")
    await session.start()
    await expect_error(session, "The provided model identifier is invalid")


@pytest.mark.parametrize(
    ("model", "voice", "ok"),
    [(V1, "greta", True), (V2, "greta", False), (V2, "tina", True), (V1, "kiara", False),
     (V2, "joanna", False), (V2_5, "tina", True), (V2_5, "greta", False)],
)  # fmt: skip
async def test_voices_per_model(client: Any, model: str, voice: str, ok: bool) -> None:
    session = await SonicStream.open(client, model)
    await session.start(voice=voice)
    if ok:
        await session.close()
        assert await session.next() is None
    else:
        await expect_error(session, f"Invalid voiceId '{voice}'")


async def test_audio_inside_open_text_block(client: Any) -> None:
    session = await SonicStream.open(client, V2)
    await session.start()
    await session.send(
        "contentStart",
        {"promptName": session.prompt, "contentName": "t1", "type": "TEXT", "role": "USER",
         "interactive": False, "textInputConfiguration": {"mediaType": "text/plain"}},
    )  # fmt: skip
    await session.send_audio(utterance_pcm(0)[:2048])
    await expect_error(session, "Chat history should be sent completely before streaming audio.")


async def test_unknown_prompt_and_content_names(client: Any) -> None:
    session = await SonicStream.open(client, V1)
    await session.start()
    await session.send(
        "audioInput", {"promptName": "other", "contentName": session.audio_content, "content": ""}
    )
    await expect_error(session, "Unknown promptName 'other'")
    session = await SonicStream.open(client, V1)
    await session.start()
    await session.send("contentEnd", {"promptName": session.prompt, "contentName": "nope"})
    await expect_error(session, "Unknown contentName nope")


async def test_event_order(client: Any) -> None:
    session = await SonicStream.open(client, V1)
    await session.send("promptStart", {"promptName": "p"})
    await expect_error(session, "The first event must be sessionStart.")


@pytest.mark.parametrize("rate", [11025, 44100])
async def test_sample_rates(client: Any, rate: int) -> None:
    session = await SonicStream.open(client, V2)
    await session.start(input_rate=rate)
    await expect_error(session, "sampleRateHertz must be 8000, 16000 or 24000")


async def test_tool_schema_must_parse(client: Any) -> None:
    broken = {"toolSpec": {**WEATHER_TOOL["toolSpec"], "inputSchema": {"json": "{not json"}}}
    session = await SonicStream.open(client, V2)
    await session.start(tools=[broken])
    await expect_error(session, "inputSchema.json is not valid JSON")


async def test_tool_result_for_unknown_tool_use_id(client: Any) -> None:
    session = await SonicStream.open(client, V2)
    await session.start(tools=[WEATHER_TOOL])
    await session.send_tool_result(str(uuid.uuid4()), {"x": 1})
    await expect_error(session, "Unknown toolUseId")


async def test_nova2_only_fields_rejected_on_v1(client: Any) -> None:
    session = await SonicStream.open(client, V1)
    await session.start(sensitivity="HIGH")
    await expect_error(session, "turnDetectionConfiguration is not supported")
    session = await SonicStream.open(client, V1)
    await session.start()
    await session.send_text("Speak this.", role="SYSTEM_SPEECH")
    await expect_error(session, "Role SYSTEM_SPEECH is not supported")


async def test_flat_endpointing_sensitivity_rejected(client: Any) -> None:
    session = await SonicStream.open(client, V2)
    await session.send("sessionStart", {"endpointingSensitivity": "HIGH"})
    await expect_error(session, "Unknown field endpointingSensitivity")


async def test_prompt_end_with_open_audio(client: Any) -> None:
    session = await SonicStream.open(client, V2)
    await session.start()
    await session.send("promptEnd", {"promptName": session.prompt})
    await expect_error(session, "must be ended before promptEnd")
