"""The openai SDK's realtime client, pointed at one vendor.

OpenAI and xAI take the plain client at their ``/v1``; Azure's GA endpoint takes it at the
resource's ``/openai/v1/`` with the key in ``api-key`` (or an Entra token as the bearer),
and the retired preview form (``api_version`` given) takes ``AsyncAzureOpenAI``, which
builds ``/openai/realtime?api-version=…&deployment=…``. The SDK's own reconnection is off:
the kit's supervisor decides when a new connection opens and what it must hear.
"""

from __future__ import annotations

from typing import Any

from rtcore_openai_realtime.params import Connection


def _ws(url: str) -> str:
    if url.startswith("http://"):
        return "ws://" + url.removeprefix("http://")
    if url.startswith("https://"):
        return "wss://" + url.removeprefix("https://")
    return url


def _http(url: str) -> str:
    if url.startswith("ws://"):
        return "http://" + url.removeprefix("ws://")
    if url.startswith("wss://"):
        return "https://" + url.removeprefix("wss://")
    return url


def make_client(conn: Connection) -> Any:
    """An ``AsyncOpenAI`` (or ``AsyncAzureOpenAI``) for ``conn``; raises ValueError when
    the credential is missing."""
    import openai

    if conn.vendor == "azure":
        if conn.api_key is None and conn.azure_ad_token is None:
            raise ValueError(
                "no credential for Azure OpenAI: set api_key (or AZURE_OPENAI_API_KEY) or "
                "azure_ad_token"
            )
        resource = _http(conn.api_base).removesuffix("/openai/v1").removesuffix("/openai")
        if conn.api_version is not None:
            return openai.AsyncAzureOpenAI(
                api_key=conn.api_key,
                azure_ad_token=conn.azure_ad_token,
                api_version=conn.api_version,
                azure_endpoint=resource,
                websocket_base_url=_ws(resource) + "/openai",
                max_retries=0,
            )
        headers = {"api-key": conn.api_key} if conn.api_key is not None else {}
        return openai.AsyncOpenAI(
            api_key=conn.azure_ad_token or conn.api_key,
            base_url=resource + "/openai/v1/",
            websocket_base_url=_ws(resource) + "/openai/v1",
            default_headers=headers,
            max_retries=0,
        )
    if conn.api_key is None:
        env = "OPENAI_API_KEY" if conn.vendor == "openai" else "XAI_API_KEY"
        raise ValueError(f"no API key: set api_key in litellm_params or {env}")
    return openai.AsyncOpenAI(
        api_key=conn.api_key,
        organization=conn.organization,
        project=conn.project,
        base_url=_http(conn.api_base),
        websocket_base_url=_ws(conn.api_base),
        max_retries=0,
    )
