"""``rtcore serve --emulator``: the Gemini Live emulator in-process, standing in for Google.

Every model of the ``gemini-live`` (the Gemini API) and ``vertex-ai-live`` (Vertex AI)
providers is pointed at the emulator: ``api_base`` its URL and ``ssl_ca_file`` its CA, given
per model so the process environment (``SSL_CERT_FILE``, ``GOOGLE_*``) is left alone; a dummy
API key for the Gemini API; for Vertex a project, a location and a service account key (as a
JSON string) whose ``token_uri`` is the emulator's ``/token``, so no Google account is used.
(A service account, not an ``authorized_user`` file: google-auth ignores the latter's
``token_uri``.) Imported only when the switch is given and such a model is configured.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import msgspec

from rtcore.provider import ModelConfig
from rtcore.serve_settings import ServeSettings
from rtcore_emulator_kit.hosting import standing_in

log = logging.getLogger(__name__)

GEMINI_PROVIDER = "gemini-live"
VERTEX_PROVIDER = "vertex-ai-live"
PROVIDERS = (GEMINI_PROVIDER, VERTEX_PROVIDER)
DUMMY_API_KEY = "emulator-api-key-not-a-real-key"
DEFAULT_PROJECT = "emulator-project"
DEFAULT_LOCATION = "us-central1"
# Options that would send the client elsewhere, or resolve real credentials or trust.
_REPLACED = (
    "api_base",
    "base_url",
    "api_key",
    "ssl_ca_file",
    "vertex_credentials",
    "vertex_credentials_file",
)


def emulated_params(
    provider: str,
    params: Mapping[str, object],
    base_url: str,
    ca_file: str,
    credentials: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """A model's params with Google access replaced by the emulator's; the rest (the model,
    session options) is kept. ``credentials``: the service account info for Vertex."""
    out = {k: v for k, v in params.items() if k not in _REPLACED}
    out.update(api_base=base_url, ssl_ca_file=ca_file)
    if provider == GEMINI_PROVIDER:
        out["api_key"] = DUMMY_API_KEY
    else:
        if credentials is None:
            raise ValueError("a Vertex model needs the emulator's credentials")
        out.setdefault("vertex_project", DEFAULT_PROJECT)
        out.setdefault("vertex_location", DEFAULT_LOCATION)
        out["vertex_credentials"] = json.dumps(dict(credentials))
    return out


def point_at(
    models: list[ModelConfig],
    base_url: str,
    ca_file: str,
    credentials: Mapping[str, str],
) -> list[ModelConfig]:
    return [
        msgspec.structs.replace(
            m, params=emulated_params(m.provider, m.params, base_url, ca_file, credentials)
        )
        if m.provider in PROVIDERS
        else m
        for m in models
    ]


@asynccontextmanager
async def run_emulator(settings: ServeSettings) -> AsyncIterator[None]:
    names = [m.name for m in settings.models if m.provider in PROVIDERS]
    if not names:
        yield
        return
    from rtcore_gemini_emulator import GeminiLiveEmulator

    async with GeminiLiveEmulator() as emulator:
        settings.models = point_at(
            settings.models,
            emulator.base_url,
            str(emulator.ca_file),
            emulator.service_account_info(),
        )
        async with standing_in(
            log,
            names,
            "Gemini Live",
            emulator.base_url,
            instead_of="Google",
            account="Google account",
        ):
            yield
