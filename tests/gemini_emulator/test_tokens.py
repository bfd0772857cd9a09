"""The OAuth 2 token endpoint with real google-auth credentials, over a session that trusts
the emulator's CA only."""

from __future__ import annotations

import asyncio

import pytest
from google.auth.exceptions import RefreshError
from google.oauth2 import service_account
from google.oauth2.credentials import Credentials

from rtcore_gemini_emulator import GeminiLiveEmulator
from rtcore_gemini_emulator.tokens import TokenIssuer
from tests.gemini_emulator.conftest import VERTEX_MODEL, next_turn, vertex_client
from tests.gemini_emulator.google_auth import auth_request

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


async def test_authorized_user_refreshes_at_the_token_uri(emulator: GeminiLiveEmulator) -> None:
    info = emulator.authorized_user_info()
    assert info["token_uri"] == emulator.token_uri
    # google-auth's from_authorized_user_info ignores the file's token_uri (it always uses
    # Google's), so the credential is built with it.
    credentials = Credentials(
        token=None,
        refresh_token=info["refresh_token"],
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        token_uri=info["token_uri"],
        scopes=SCOPES,
    )
    await asyncio.to_thread(credentials.refresh, auth_request(emulator.ca_file))
    assert credentials.token
    assert credentials.valid
    assert emulator.stats.tokens_issued == 1
    client = vertex_client(emulator, credentials)
    async with client.aio.live.connect(model=VERTEX_MODEL) as session:
        await session.send_client_content(
            turns={"role": "user", "parts": [{"text": "Hi"}]}, turn_complete=True
        )
        assert (await next_turn(session)).audio


async def test_unknown_refresh_token_is_refused(emulator: GeminiLiveEmulator) -> None:
    credentials = Credentials(
        token=None,
        refresh_token="1//not-issued",
        client_id="rtcore-emulator.apps.googleusercontent.com",
        client_secret="rtcore-emulator-client-secret",
        token_uri=emulator.token_uri,
    )
    with pytest.raises(RefreshError, match="invalid_grant"):
        await asyncio.to_thread(credentials.refresh, auth_request(emulator.ca_file))


async def test_service_account_jwt_grant_and_self_signed_jwt(emulator: GeminiLiveEmulator) -> None:
    info = emulator.service_account_info()
    credentials = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    await asyncio.to_thread(credentials.refresh, auth_request(emulator.ca_file))
    assert credentials.token
    assert emulator.tokens.valid(credentials.token)
    # A key the emulator did not issue signs nothing it accepts.
    other = TokenIssuer().service_account_info(emulator.token_uri)
    foreign = service_account.Credentials.from_service_account_info(other, scopes=SCOPES)
    with pytest.raises(RefreshError, match="Invalid JWT Signature"):
        await asyncio.to_thread(foreign.refresh, auth_request(emulator.ca_file))
    # always_use_jwt_access: a self-signed JWT is the bearer token, no token endpoint.
    self_signed = service_account.Credentials.from_service_account_info(
        info, scopes=SCOPES, always_use_jwt_access=True
    )
    client = vertex_client(emulator, self_signed)
    async with client.aio.live.connect(model=VERTEX_MODEL) as session:
        await session.send_client_content(
            turns={"role": "user", "parts": [{"text": "Hi"}]}, turn_complete=True
        )
        assert (await next_turn(session)).audio
    assert emulator.stats.refused == 0
