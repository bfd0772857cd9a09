"""The ``Provider`` for one configured OpenAI-protocol model (OpenAI, Azure OpenAI or xAI).

One openai SDK client per model, shared by its sessions, each on connections of its own.
It is built at start from the params, so a missing key or endpoint is a clear error then.
"""

from __future__ import annotations

import logging

from rtcore.provider import Capabilities, ModelConfig, ProviderSession, ProviderUnavailable
from rtcore.provider.messages import SessionConfig
from rtcore_openai_realtime.capabilities import capabilities
from rtcore_openai_realtime.client import make_client
from rtcore_openai_realtime.models import Vendor, profile_for
from rtcore_openai_realtime.params import connection, param_warnings, session_options
from rtcore_openai_realtime.shared import Shared

log = logging.getLogger(__name__)

EMULATOR_HINT = (
    "To try rtcore without an account, serve replies from the bundled OpenAI Realtime "
    "emulator instead: add --emulator to rtcore serve (the rtcore[emulator] extra)."
)


class OpenAIRealtimeProvider:
    def __init__(self, model: ModelConfig, vendor: Vendor) -> None:
        self._model = model
        self._vendor = vendor
        for warning in param_warnings(vendor, model.name, model.params):
            log.warning("%s", warning)
        self._conn = connection(vendor, model.params)
        self._options = session_options(model.params)
        base = model.info.get("base_model")
        self._profile = profile_for(vendor, model.model, str(base) if base else None)
        if not self._profile.known and not model.implicit:
            log.warning(
                "model %r: %s is not a %s realtime model rtcore knows the prices of; it is "
                "served as written, and its spend is not charged (set model_info.base_model "
                "for an Azure deployment, or the cost fields)",
                model.name,
                self._profile.model,
                vendor,
            )
        if self._options.mcp_passthrough and vendor != "openai":
            raise ValueError(
                f"litellm_params.mcp_passthrough: {vendor} is not known to run MCP tools as "
                "OpenAI does (its MCP events are undocumented); leave it out, and the "
                "gateway runs the session's MCP tools"
            )
        self._caps = capabilities(self._profile, remote_mcp=self._options.mcp_passthrough)
        self._client: object | None = None
        self._unusable: str | None = None
        try:
            self._client = make_client(self._conn)
        except ValueError as exc:
            self._unusable = str(exc)

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    async def warm_up(self) -> None:
        if self._unusable is not None:
            raise ProviderUnavailable(
                f"{self._unusable}. {EMULATOR_HINT}", code="missing_credentials"
            )
        log.info(
            "%s realtime model %s (%s) via %s",
            self._vendor,
            self._model.name,
            self._profile.model,
            self._conn.api_base,
        )

    async def readiness(self) -> str | None:
        return None if self._unusable is None else f"missing_credentials: {self._unusable}"

    async def open_session(self, config: SessionConfig) -> ProviderSession:
        from rtcore_openai_realtime.link import OpenAILink
        from rtcore_openai_realtime.session import OpenAISession

        if self._client is None:
            raise ProviderUnavailable(self._unusable or "", code="missing_credentials")
        shared = Shared(
            vendor=self._vendor, client=self._client, profile=self._profile, options=self._options
        )
        return OpenAISession(shared, config, OpenAILink)

    async def aclose(self) -> None:
        close = getattr(self._client, "close", None)
        if close is not None:
            await close()
