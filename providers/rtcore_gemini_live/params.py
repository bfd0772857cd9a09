"""A model's ``litellm_params``, validated at start: where its Gemini (API key) or Vertex
AI (project, location, credentials) connection goes, and the session tunables. A bad value
is a ValueError naming its key; an unknown key is warned of (with the key it was probably
meant to be), never silently ignored."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import msgspec

from rtcore.kit import SupervisorPolicy
from rtcore_gemini_live.models import Backend

_API_KEY_ENV = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
_PROJECT_ENV = ("VERTEXAI_PROJECT", "GOOGLE_CLOUD_PROJECT")
_LOCATION_ENV = ("VERTEXAI_LOCATION", "GOOGLE_CLOUD_LOCATION")
DEFAULT_LOCATION = "us-central1"
# BCP-47 as Gemini takes it: a language, an optional script or region ("en-US", "cmn-CN").
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{4})?(-([A-Z]{2}|[0-9]{3}|XA))?$")


class SessionOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Tunables (docs/providers/gemini-live.md). Gemini ends a connection after about
    ten minutes and says so with ``goAway`` about a minute before; rotation by age is the
    fallback for a connection that ends without one."""

    rotate_after_seconds: float = 540.0
    connection_limit_seconds: float = 600.0
    open_timeout_seconds: float = 10.0
    close_timeout_seconds: float = 3.0
    max_open_attempts: int = 4
    backoff_initial_seconds: float = 0.25
    backoff_max_seconds: float = 4.0
    throttle_attempts: int = 6
    throttle_backoff_initial_seconds: float = 1.0
    throttle_backoff_max_seconds: float = 8.0
    max_recoveries_per_minute: int = 5
    # A stream that stalls again right after a stall recovery ends the session (which
    # then fails over, where the model has another deployment).
    max_stalls_in_a_row: int = 2
    stall_timeout_seconds: float = 15.0
    max_backlog_seconds: float = 60.0
    # Context-window compression (a sliding window), so sessions outlive Gemini's
    # 15-minute limit; None leaves the server's defaults.
    compression_trigger_tokens: int | None = None
    compression_target_tokens: int | None = None
    # BCP-47 language of speech in and out (None: the model detects it).
    language: str | None = None
    api_version: str | None = None

    def policy(self, input_rate: int) -> SupervisorPolicy:
        shared = set(SupervisorPolicy.__struct_fields__) & set(self.__struct_fields__)
        return SupervisorPolicy(
            **{name: getattr(self, name) for name in shared},
            max_backlog_bytes=int(self.max_backlog_seconds * input_rate * 2),
        )


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
# LiteLLM settings that mean something to LiteLLM's router or billing, nothing here.
LITELLM_ONLY = frozenset(
    {
        "rpm", "tpm", "timeout", "stream_timeout", "max_retries", "organization",
        "input_cost_per_second", "output_cost_per_second", "input_cost_per_token",
        "output_cost_per_token", "mock_response", "tags", "max_parallel_requests", "weight",
        "order", "custom_llm_provider",
    }
)  # fmt: skip


def _text(params: Mapping[str, object], key: str) -> str | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"litellm_params.{key} must be a string, not {type(value).__name__}")
    return value


def _env(names: Iterable[str]) -> str | None:
    return next((v for name in names if (v := os.environ.get(name))), None)


def connection(backend: Backend, params: Mapping[str, object]) -> Connection:
    ca = _text(params, "ssl_ca_file")
    if ca is not None and not Path(ca).is_file():
        raise ValueError(f"litellm_params.ssl_ca_file: no such file: {ca}")
    base = _text(params, "api_base")
    if base is not None and not base.startswith(("https://", "http://", "wss://")):
        raise ValueError(f"litellm_params.api_base must be an https:// URL, not {base!r}")
    if backend == "gemini":
        key = _text(params, "api_key") or _env(_API_KEY_ENV)
        return Connection(backend=backend, api_key=key, api_base=base, ssl_ca_file=ca)
    location = _text(params, "vertex_location") or _env(_LOCATION_ENV) or DEFAULT_LOCATION
    if not re.fullmatch(r"[a-z0-9-]+", location):
        raise ValueError(f"litellm_params.vertex_location is not a location: {location!r}")
    credentials = _text(params, "vertex_credentials")
    is_json = credentials is not None and credentials.lstrip().startswith("{")
    if credentials is not None and not is_json and not Path(credentials).is_file():
        raise ValueError(f"litellm_params.vertex_credentials: no such file: {credentials}")
    return Connection(
        backend=backend,
        api_base=base,
        ssl_ca_file=ca,
        vertex_project=_text(params, "vertex_project") or _env(_PROJECT_ENV),
        vertex_location=location,
        vertex_credentials=credentials,
    )


def session_options(params: Mapping[str, object]) -> SessionOptions:
    known = {f: params[f] for f in SessionOptions.__struct_fields__ if f in params}
    try:
        options = msgspec.convert(known, SessionOptions, strict=False)
    except msgspec.ValidationError as exc:
        raise ValueError(f"Invalid Gemini Live option: {exc}") from None
    if options.language is not None and not _LANGUAGE.match(options.language):
        raise ValueError(
            f"litellm_params.language must be a BCP-47 code such as en-US, not {options.language!r}"
        )
    return options


def param_warnings(backend: Backend, model_name: str, params: Mapping[str, object]) -> list[str]:
    known = _CONNECTION_KEYS[backend] | frozenset(SessionOptions.__struct_fields__)
    other = _CONNECTION_KEYS["vertex" if backend == "gemini" else "gemini"]
    out: list[str] = []
    for key in sorted(params):
        if key in known:
            continue
        where = f"model {model_name!r}: litellm_params.{key}"
        if key in LITELLM_ONLY:
            out.append(f"{where} is a LiteLLM setting rtcore does not use; it is ignored")
        elif key in other:
            out.append(f"{where} is not used by the {backend} backend; it is ignored")
        else:
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]}?" if close else ""
            out.append(f"{where} is not an option of the Gemini Live provider{hint}")
    return out
