"""The Gemini Live emulator driven by the real google-genai SDK (never a mock)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import types
from google.oauth2.credentials import Credentials

from rtcore_gemini_emulator import GeminiLiveEmulator

API_KEY = "test-api-key"
GEMINI_MODEL = "gemini-3.8-live"
TEXT_MODEL = "gemini-3.1-flash-live-preview"
VERTEX_MODEL = "gemini-live-2.5-flash-native-audio"


@pytest.fixture(scope="session")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gemini-certs")


@pytest.fixture
async def emulator(cert_dir: Path) -> AsyncIterator[GeminiLiveEmulator]:
    async with GeminiLiveEmulator(cert_dir=cert_dir, realtime_factor=0.0) as emu:
        yield emu


def trusting(emu: GeminiLiveEmulator) -> ssl.SSLContext:
    """Trust the emulator's CA only, for this client (never the process's trust)."""
    return ssl.create_default_context(cafile=str(emu.ca_file))


def gemini_client(
    emu: GeminiLiveEmulator, *, api_key: str = API_KEY, api_version: str | None = None
) -> genai.Client:
    options: dict[str, Any] = {
        "base_url": emu.base_url,
        "async_client_args": {"ssl": trusting(emu)},
    }
    if api_version is not None:
        options["api_version"] = api_version
    return genai.Client(api_key=api_key, http_options=options)


def vertex_client(
    emu: GeminiLiveEmulator, credentials: Any = None, *, api_version: str | None = None
) -> genai.Client:
    options: dict[str, Any] = {
        "base_url": emu.base_url,
        "async_client_args": {"ssl": trusting(emu)},
    }
    if api_version is not None:
        options["api_version"] = api_version
    if credentials is None:
        credentials = Credentials(token=emu.issue_access_token())
    return genai.Client(
        vertexai=True,
        project="emulator-project",
        location="us-central1",
        credentials=credentials,
        http_options=options,
    )


@pytest.fixture
def client(emulator: GeminiLiveEmulator) -> genai.Client:
    return gemini_client(emulator)


@dataclass
class Turn:
    """One model turn as the SDK yields it (``receive()`` stops after ``turnComplete``)."""

    messages: list[types.LiveServerMessage] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(
            part.text or ""
            for m in self.messages
            if m.server_content and m.server_content.model_turn
            for part in m.server_content.model_turn.parts or []
        )

    @property
    def audio(self) -> bytes:
        return b"".join(
            part.inline_data.data or b""
            for m in self.messages
            if m.server_content and m.server_content.model_turn
            for part in m.server_content.model_turn.parts or []
            if part.inline_data is not None
        )

    @property
    def output_transcript(self) -> str:
        return "".join(
            m.server_content.output_transcription.text or ""
            for m in self.messages
            if m.server_content and m.server_content.output_transcription
        )

    @property
    def input_transcript(self) -> str:
        return "".join(
            m.server_content.input_transcription.text or ""
            for m in self.messages
            if m.server_content and m.server_content.input_transcription
        )

    def has(self, name: str) -> bool:
        return any(getattr(m.server_content, name, None) for m in self.messages if m.server_content)

    @property
    def usage(self) -> types.UsageMetadata:
        found = [m.usage_metadata for m in self.messages if m.usage_metadata is not None]
        assert found, "no usageMetadata in the turn"
        return found[-1]

    @property
    def tool_calls(self) -> list[types.FunctionCall]:
        return [
            call
            for m in self.messages
            if m.tool_call is not None
            for call in m.tool_call.function_calls or []
        ]

    @property
    def handles(self) -> list[types.LiveServerSessionResumptionUpdate]:
        return [m.session_resumption_update for m in self.messages if m.session_resumption_update]


async def next_turn(session: Any, *, until_tool_call: bool = False) -> Turn:
    """Messages up to the end of the model's turn (or its first tool call)."""
    turn = Turn()
    async for message in session.receive():
        turn.messages.append(message)
        if until_tool_call and message.tool_call is not None:
            break
    return turn


async def next_message(session: Any) -> types.LiveServerMessage:
    return await session._receive()
