"""The ``Provider`` for one configured Gemini Live model, on either backend.

One google-genai client per model, shared by its sessions, each on connections of its
own. It is built on first use (or by ``warm_up``), after checking the key or the Vertex AI
credentials, so a misconfiguration is a clear error rather than a refused connection.
"""

from __future__ import annotations

import logging

from rtcore.kit import ReadinessCheck
from rtcore.provider import Capabilities, ModelConfig, ProviderSession, ProviderUnavailable
from rtcore.provider.messages import SessionConfig
from rtcore_gemini_live.capabilities import capabilities
from rtcore_gemini_live.client import GenaiClient
from rtcore_gemini_live.models import Backend, profile_for, resolve_voice
from rtcore_gemini_live.params import connection, param_warnings, session_options
from rtcore_gemini_live.upstream import Upstream

log = logging.getLogger(__name__)

EMULATOR_HINT = (
    "To try rtcore without a Google account, serve replies from the bundled Gemini Live "
    "emulator instead: add --emulator to rtcore serve (the rtcore[emulator] extra)."
)


class GeminiProvider:
    def __init__(self, model: ModelConfig, backend: Backend) -> None:
        self._model = model
        self._backend = backend
        for warning in param_warnings(backend, model.name, model.params):
            log.warning("%s", warning)
        conn = connection(backend, model.params)
        self._options = session_options(model.params)
        self._profile = profile_for(model.model, backend)
        if not self._profile.known and not model.implicit:
            log.warning(
                "model %r: %s is not a Gemini Live model rtcore knows; it is served as "
                "written, with no prices (its spend is not charged)",
                model.name,
                self._profile.id,
            )
        self._client = GenaiClient(conn, self._options.api_version)
        self._caps = capabilities(self._profile)
        self._announced = False
        self._check = ReadinessCheck(self._usable, starting="resolving the Gemini credentials")

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    async def _usable(self) -> None:
        """Build the client and make sure its credentials hold a token."""
        try:
            await self._client.ready()
        except ValueError as exc:
            raise ProviderUnavailable(str(exc), code="invalid_config") from None
        if not self._announced:
            self._announced = True
            log.info(
                "Gemini Live model %s (%s) via %s",
                self._model.name,
                self._profile.id,
                self._client.conn.api_base
                or ("Vertex AI" if self._backend == "vertex" else "the Gemini API"),
            )

    async def warm_up(self) -> None:
        """Resolve the key or credentials before the first client; for a start with no
        Google account, say how to try rtcore without one."""
        try:
            await self._check.run()
        except ProviderUnavailable as exc:
            if exc.code.startswith("missing_"):
                raise ProviderUnavailable(f"{exc.message} {EMULATOR_HINT}", code=exc.code) from exc
            raise

    async def readiness(self) -> str | None:
        """None when sessions can be served; else why not (no key, no credentials). A
        model found unusable is looked at again every few seconds."""
        return self._check.reason()

    async def open_session(self, config: SessionConfig) -> ProviderSession:
        from rtcore_gemini_live.link import GeminiLink
        from rtcore_gemini_live.session import GeminiSession

        try:
            resolve_voice(config.voice)
        except ValueError as exc:
            raise ProviderUnavailable(str(exc), code="invalid_value") from exc
        await self._check.run()
        up = Upstream(client=self._client, profile=self._profile, options=self._options)
        return GeminiSession(up, config, GeminiLink)

    async def aclose(self) -> None:
        self._check.close()
        await self._client.aclose()
