"""``rtcore serve --emulator``: the Gemini Live models' params pointed at the emulator."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import ssl

import pytest
from google import genai
from google.oauth2 import service_account

from rtcore.provider import ModelConfig
from rtcore.serve_settings import ServeSettings
from rtcore_gemini_emulator.in_process import (
    DUMMY_API_KEY,
    emulated_params,
    point_at,
    run_emulator,
)
from tests.gemini_emulator.conftest import VERTEX_MODEL, next_turn
from tests.gemini_emulator.google_auth import auth_request

CREDENTIALS = {
    "type": "authorized_user",
    "client_id": "c",
    "client_secret": "s",
    "refresh_token": "r",
    "token_uri": "https://localhost:1/token",
}


def test_gemini_model_gets_the_emulator_and_a_dummy_key() -> None:
    params = emulated_params(
        "gemini-live",
        {
            "model": "gemini-3.8-live",
            "api_key": "real-key",
            "api_base": "https://x",
            "voice": "Kore",
        },
        "https://localhost:9",
        "/ca.pem",
    )
    assert params == {
        "model": "gemini-3.8-live",
        "voice": "Kore",
        "api_base": "https://localhost:9",
        "ssl_ca_file": "/ca.pem",
        "api_key": DUMMY_API_KEY,
    }


def test_vertex_model_gets_project_location_and_credentials() -> None:
    params = emulated_params(
        "vertex-ai-live",
        {"vertex_credentials": "/real/key.json", "api_key": "express", "ssl_ca_file": "/x"},
        "https://localhost:9",
        "/ca.pem",
        CREDENTIALS,
    )
    assert params["vertex_project"] == "emulator-project"
    assert params["vertex_location"] == "us-central1"
    assert json.loads(str(params["vertex_credentials"])) == CREDENTIALS
    assert params["api_base"] == "https://localhost:9"
    assert params["ssl_ca_file"] == "/ca.pem"
    assert "api_key" not in params
    kept = emulated_params(
        "vertex-ai-live",
        {"vertex_project": "mine", "vertex_location": "europe-west4"},
        "https://localhost:9",
        "/ca.pem",
        CREDENTIALS,
    )
    assert (kept["vertex_project"], kept["vertex_location"]) == ("mine", "europe-west4")


def test_other_providers_are_left_alone() -> None:
    nova = ModelConfig(name="n", provider="bedrock-sonic", model="m", params={"a": 1})
    gemini = ModelConfig(name="g", provider="gemini-live", model="gemini-3.8-live", params={})
    out = point_at([nova, gemini], "https://localhost:9", "/ca.pem", CREDENTIALS)
    assert out[0] is nova
    assert out[1].params["api_base"] == "https://localhost:9"


async def test_lifespan_serves_vertex_with_a_credential_that_refreshes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    models = [
        ModelConfig(name="live", provider="vertex-ai-live", model=VERTEX_MODEL, params={}),
        ModelConfig(name="nova", provider="bedrock-sonic", model="amazon.nova-2-sonic-v1:0"),
    ]
    settings = ServeSettings(models=models, args=argparse.Namespace(emulator=True))
    with caplog.at_level(logging.WARNING):
        async with run_emulator(settings):
            assert settings.models[1] is models[1]
            params = settings.models[0].params
            assert "EMULATED REPLIES: model live answers from the local Gemini Live" in caplog.text
            # What a provider does with the params: the credential JSON through google-auth's
            # own loader, refreshed at the emulator's /token; the SDK trusting its CA only.
            info = json.loads(str(params["vertex_credentials"]))
            credentials = service_account.Credentials.from_service_account_info(
                info, scopes=["https://www.googleapis.com/auth/cloud-platform"]
            )
            await asyncio.to_thread(credentials.refresh, auth_request(str(params["ssl_ca_file"])))
            context = ssl.create_default_context(cafile=str(params["ssl_ca_file"]))
            client = genai.Client(
                vertexai=True,
                project=str(params["vertex_project"]),
                location=str(params["vertex_location"]),
                credentials=credentials,
                http_options={
                    "base_url": str(params["api_base"]),
                    "async_client_args": {"ssl": context},
                },
            )
            async with client.aio.live.connect(
                model=VERTEX_MODEL, config={"output_audio_transcription": {}}
            ) as session:
                await session.send_client_content(
                    turns={"role": "user", "parts": [{"text": "Hi"}]}, turn_complete=True
                )
                assert (await next_turn(session)).output_transcript == "You said: Hi"


async def test_lifespan_without_gemini_models_starts_nothing() -> None:
    nova = ModelConfig(name="nova", provider="bedrock-sonic", model="amazon.nova-2-sonic-v1:0")
    settings = ServeSettings(models=[nova], args=argparse.Namespace(emulator=True))
    async with run_emulator(settings):
        assert settings.models == [nova]
