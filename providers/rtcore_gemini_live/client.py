"""The google-genai client of one configured model, and its credentials.

Trust is per model: ``ssl_ca_file`` goes into the SSL context of the SDK's WebSocket and
into the HTTP session that refreshes Vertex credentials, never into the process
environment. Vertex credentials are refreshed here, in a thread, with that session, before
each connection, so the SDK is always handed a valid token (its own refresh would use the
process-wide trust store).
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rtcore.logs import register_secrets
from rtcore.provider import ProviderUnavailable
from rtcore_gemini_live.params import Connection

if TYPE_CHECKING:
    from google import genai
    from google.auth.credentials import Credentials
    from google.genai.types import HttpOptionsDict

log = logging.getLogger(__name__)

CLOUD_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def ssl_context(ca_file: str | None) -> ssl.SSLContext | None:
    """The WebSocket's trust: the model's CA file, or None for the SDK's default."""
    if ca_file is None:
        return None
    return ssl.create_default_context(cafile=ca_file)


def load_credentials(source: str | None) -> tuple[Credentials, str | None]:
    """Vertex credentials and the project they name: from a service-account or
    authorized_user file (a path, or its JSON), else Application Default Credentials."""
    import google.auth

    if source is None:
        try:
            found, project = google.auth.default(scopes=[CLOUD_SCOPE])
        except google.auth.exceptions.DefaultCredentialsError as exc:
            raise ProviderUnavailable(
                "No Google Cloud credentials: set vertex_credentials (a service-account "
                "file) or Application Default Credentials (gcloud auth application-default "
                f"login, GOOGLE_APPLICATION_CREDENTIALS). ({exc})",
                code="missing_credentials",
            ) from None
        return found, project
    text = source if source.lstrip().startswith("{") else Path(source).read_text()
    try:
        info = json.loads(text)
    except ValueError:
        raise ValueError(
            "litellm_params.vertex_credentials is not a JSON credentials file"
        ) from None
    if not isinstance(info, dict):
        raise ValueError("litellm_params.vertex_credentials is not a JSON credentials file")
    register_secrets(
        [info.get(k) for k in ("private_key", "client_secret", "refresh_token", "token")]
    )
    if info.get("type") not in ("service_account", "authorized_user"):
        raise ValueError(
            "litellm_params.vertex_credentials must be a service_account or authorized_user "
            f"credentials file, not type {info.get('type')!r}"
        )
    try:
        return _from_info(info)
    # A file of the right kind that lacks a field, or holds one of the wrong type (google-auth
    # raises AttributeError for an expiry that is not a string).
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise ValueError(f"litellm_params.vertex_credentials cannot be loaded: {exc}") from None


def _from_info(info: dict[str, Any]) -> tuple[Credentials, str | None]:
    from google.oauth2 import credentials as user_credentials
    from google.oauth2 import service_account

    if info["type"] == "service_account":
        load = service_account.Credentials.from_service_account_info
        return load(info, scopes=[CLOUD_SCOPE]), info.get("project_id")  # type: ignore[no-untyped-call]
    load_user = user_credentials.Credentials.from_authorized_user_info
    creds = load_user(info, scopes=[CLOUD_SCOPE])  # type: ignore[no-untyped-call]
    # google-auth puts Google's token endpoint in place of the file's, where its refresh
    # token is good.
    if token_uri := info.get("token_uri"):
        creds = creds.with_token_uri(token_uri)
    return creds, info.get("quota_project_id")


def _refresh(creds: Credentials, ca_file: str | None) -> None:
    import google.auth.transport.requests
    import requests

    class _Trusting(google.auth.transport.requests.Request):
        # Per request: a session-wide verify loses to REQUESTS_CA_BUNDLE in the
        # environment, which must not decide whom this model trusts.
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            if ca_file is not None:
                kwargs["verify"] = ca_file
            return super().__call__(*args, **kwargs)  # type: ignore[no-untyped-call]

    with requests.Session() as http:
        creds.refresh(_Trusting(http))  # type: ignore[no-untyped-call]


async def fresh_token(creds: Credentials, ca_file: str | None) -> None:
    """Refresh ``creds`` when they have no valid token (in a thread: it is blocking I/O)."""
    if creds.valid:
        return
    import google.auth.exceptions

    try:
        await asyncio.to_thread(_refresh, creds, ca_file)
    except google.auth.exceptions.RefreshError as exc:
        raise ProviderUnavailable(
            f"Google rejected the Vertex AI credentials: {exc}. Check vertex_credentials "
            "or Application Default Credentials.",
            code="invalid_credentials",
        ) from None
    except google.auth.exceptions.TransportError as exc:
        raise ProviderUnavailable(
            f"Could not reach Google's token endpoint to refresh the Vertex AI credentials "
            f"(check the network and ssl_ca_file): {exc}",
            code="connection_error",
        ) from None
    if creds.token:
        register_secrets([creds.token])


class GenaiClient:
    """The SDK client and, on Vertex, the credentials it is given."""

    def __init__(self, conn: Connection, api_version: str | None) -> None:
        self.conn = conn
        self.api_version = api_version
        self.credentials: Credentials | None = None
        self._client: genai.Client | None = None

    def build(self) -> genai.Client:
        if self._client is not None:
            return self._client
        from google import genai

        conn = self.conn
        http: HttpOptionsDict = {}
        if conn.api_base:
            http["base_url"] = conn.api_base
        if self.api_version:
            http["api_version"] = self.api_version
        if (ctx := ssl_context(conn.ssl_ca_file)) is not None:
            http["async_client_args"] = {"ssl": ctx}
        if conn.backend == "gemini":
            if not conn.api_key:
                raise ProviderUnavailable(
                    "No Gemini API key: set api_key in the model's litellm_params, or "
                    "GEMINI_API_KEY in the environment.",
                    code="missing_credentials",
                )
            register_secrets([conn.api_key])
            self._client = genai.Client(api_key=conn.api_key, http_options=http or None)
            return self._client
        creds, project = load_credentials(conn.vertex_credentials)
        project = conn.vertex_project or project
        if not project:
            raise ProviderUnavailable(
                "No Google Cloud project for Vertex AI: set vertex_project (or "
                "GOOGLE_CLOUD_PROJECT).",
                code="missing_project",
            )
        self.credentials = creds
        self._client = genai.Client(
            vertexai=True,
            project=project,
            location=conn.vertex_location,
            credentials=creds,
            http_options=http or None,
        )
        return self._client

    async def ready(self) -> genai.Client:
        """The client, with valid credentials for the next connection."""
        client = await asyncio.to_thread(self.build) if self._client is None else self._client
        if self.credentials is not None:
            await fresh_token(self.credentials, self.conn.ssl_ca_file)
        return client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aio.aclose()
