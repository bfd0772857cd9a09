"""The echo ``Provider``: what it can do, and opening sessions."""

from __future__ import annotations

import asyncio

from rtcore.provider import (
    ALL_RESPONSE_OVERRIDES,
    Capabilities,
    ModelConfig,
    ProviderSession,
    ProviderUnavailable,
)
from rtcore.provider.messages import SessionConfig
from rtcore_echo.params import EchoParams
from rtcore_echo.session import EchoSession

CAPABILITIES = Capabilities(
    input_sample_rates=(16000, 24000),
    output_sample_rates=(24000,),
    voices=("alloy", "echo-voice"),
    default_voice="alloy",
    output_modalities=("text", "audio"),
    server_vad=True,
    manual_commit=True,
    tools=True,
    response_overrides=ALL_RESPONSE_OVERRIDES,  # every response is planned on its own
)


class EchoProvider:
    """One configured echo model. Holds no connection: each session is self-contained."""

    def __init__(self, model: ModelConfig) -> None:
        self.model = model
        # Parse now so a bad config file fails at start, not at the first connection.
        self.params = EchoParams.parse(model.params)
        self._sessions: set[EchoSession] = set()

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    async def open_session(self, config: SessionConfig) -> ProviderSession:
        if self.params.unavailable is not None:
            raise ProviderUnavailable(self.params.unavailable)
        if self.params.open_delay_ms:
            await asyncio.sleep(self.params.open_delay_ms / 1000)
        session = EchoSession(config, self.params, on_close=self._sessions.discard)
        self._sessions.add(session)
        return session

    async def aclose(self) -> None:
        for session in list(self._sessions):
            await session.aclose()
