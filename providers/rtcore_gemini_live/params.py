"""A model's ``litellm_params``, validated at start: where its Gemini (API key) or Vertex
AI (project, location, credentials) connection goes, and the session tunables. A bad value
is a ValueError naming its key; an unknown key is warned of (with the key it was probably
meant to be), never silently ignored."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import msgspec

from rtcore.kit import (
    LITELLM_ONLY,
    SessionTunables,
    env_value,
    read_options,
    text_param,
    unknown_param_warnings,
)
from rtcore_gemini_live.models import Backend

_API_KEY_ENV = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
_PROJECT_ENV = ("VERTEXAI_PROJECT", "GOOGLE_CLOUD_PROJECT")
_LOCATION_ENV = ("VERTEXAI_LOCATION", "GOOGLE_CLOUD_LOCATION")
DEFAULT_LOCATION = "us-central1"
# BCP-47 as Gemini takes it: a language, an optional script or region ("en-US", "cmn-CN").
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{4})?(-([A-Z]{2}|[0-9]{3}|XA))?$")


class SessionOptions(SessionTunables, frozen=True, kw_only=True):
    """Tunables (docs/providers/gemini-live.md); the supervisor's are the kit's. Gemini
    ends a connection after about ten minutes and says so with ``goAway`` about a minute
    before; rotation by age is the fallback for a connection that ends without one."""

    rotate_after_seconds: float = 540.0
    connection_limit_seconds: float = 600.0
    # Context-window compression (a sliding window), so sessions outlive Gemini's
    # 15-minute limit; None leaves the server's defaults.
    compression_trigger_tokens: int | None = None
    compression_target_tokens: int | None = None
    # BCP-47 language of speech in and out (None: the model detects it).
    language: str | None = None
    api_version: str | None = None


class Connection(msgspec.Struct, frozen=True, kw_only=True):
    """Where sessions connect and as whom. ``api_key`` is a secret."""

    backend: Backend
    api_key: str | None = None
    api_base: str | None = None
    ssl_ca_file: str | None = None
    vertex_project: str | None = None
    vertex_location: str = DEFAULT_LOCATION
    vertex_credentials: str | None = None


_CONNECTION_KEYS = {
    "gemini": frozenset({"api_key", "api_base", "ssl_ca_file"}),
    "vertex": frozenset(
        {"api_base", "ssl_ca_file", "vertex_project", "vertex_location", "vertex_credentials"}
    ),
}
# OpenAI's organization, which a copied LiteLLM entry may carry, means nothing here.
IGNORED = LITELLM_ONLY | {"organization"}


def connection(backend: Backend, params: Mapping[str, object]) -> Connection:
    ca = text_param(params, "ssl_ca_file")
    if ca is not None and not Path(ca).is_file():
        raise ValueError(f"litellm_params.ssl_ca_file: no such file: {ca}")
    base = text_param(params, "api_base")
    if base is not None and not base.startswith(("https://", "http://", "wss://")):
        raise ValueError(f"litellm_params.api_base must be an https:// URL, not {base!r}")
    if backend == "gemini":
        key = text_param(params, "api_key") or env_value(_API_KEY_ENV)
        return Connection(backend=backend, api_key=key, api_base=base, ssl_ca_file=ca)
    location = text_param(params, "vertex_location") or env_value(_LOCATION_ENV) or DEFAULT_LOCATION
    if not re.fullmatch(r"[a-z0-9-]+", location):
        raise ValueError(f"litellm_params.vertex_location is not a location: {location!r}")
    credentials = text_param(params, "vertex_credentials")
    is_json = credentials is not None and credentials.lstrip().startswith("{")
    if credentials is not None and not is_json and not Path(credentials).is_file():
        raise ValueError(f"litellm_params.vertex_credentials: no such file: {credentials}")
    return Connection(
        backend=backend,
        api_base=base,
        ssl_ca_file=ca,
        vertex_project=text_param(params, "vertex_project") or env_value(_PROJECT_ENV),
        vertex_location=location,
        vertex_credentials=credentials,
    )


def session_options(params: Mapping[str, object]) -> SessionOptions:
    options = read_options(params, SessionOptions, "Gemini Live")
    if options.language is not None and not _LANGUAGE.match(options.language):
        raise ValueError(
            f"litellm_params.language must be a BCP-47 code such as en-US, not {options.language!r}"
        )
    return options


def param_warnings(backend: Backend, model_name: str, params: Mapping[str, object]) -> list[str]:
    return unknown_param_warnings(
        _CONNECTION_KEYS[backend] | frozenset(SessionOptions.__struct_fields__),
        params,
        model_name=model_name,
        provider="Gemini Live",
        litellm_only=IGNORED,
        backend=backend,
        other_backend_keys=_CONNECTION_KEYS["vertex" if backend == "gemini" else "gemini"],
    )
