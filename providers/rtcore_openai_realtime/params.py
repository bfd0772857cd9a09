"""A model's ``litellm_params``, validated at start, in LiteLLM's names: where its
connection goes and as whom (``api_key``, ``api_base``, ``organization``/``project`` for
OpenAI, ``azure_ad_token``/``api_version`` for Azure), and the session tunables. A bad
value is a ValueError naming its key; an unknown key is warned of, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from rtcore.kit import SupervisorPolicy, env_value, read_options, text_param, unknown_param_warnings
from rtcore_openai_realtime.models import Vendor

_KEY_ENV: dict[Vendor, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "azure": ("AZURE_OPENAI_API_KEY", "AZURE_API_KEY"),
    "xai": ("XAI_API_KEY",),
}
_BASE_ENV: dict[Vendor, tuple[str, ...]] = {
    "openai": ("OPENAI_BASE_URL",),
    "azure": ("AZURE_OPENAI_ENDPOINT", "AZURE_API_BASE"),
    "xai": (),
}
DEFAULT_BASE: dict[Vendor, str | None] = {
    "openai": "https://api.openai.com/v1",
    "azure": None,
    "xai": "https://api.x.ai/v1",
}


class Connection(msgspec.Struct, frozen=True, kw_only=True):
    """Where sessions connect and as whom; ``api_key`` and ``azure_ad_token`` are
    secrets."""

    vendor: Vendor
    api_base: str
    api_key: str | None = None
    azure_ad_token: str | None = None
    api_version: str | None = None  # Azure: the retired preview path, with this version
    organization: str | None = None
    project: str | None = None


class SessionOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Tunables. A session is moved to a fresh upstream connection (seeded with the
    conversation) ``rotate_margin_seconds`` before the vendor's cap, at a turn boundary;
    ``session_cap_seconds`` overrides the vendor's cap (a test shortens it)."""

    session_cap_seconds: float | None = None
    rotate_margin_seconds: float = 300.0
    open_timeout_seconds: float = 10.0
    close_timeout_seconds: float = 3.0
    max_open_attempts: int = 4
    stall_timeout_seconds: float = 20.0
    max_recoveries_per_minute: int = 5
    # A stream that stalls again right after a stall recovery ends the session (which
    # then fails over, where the model has another deployment).
    max_stalls_in_a_row: int = 2
    max_backlog_seconds: float = 60.0
    # What transcribes the user's audio when the client asked for no transcription: the
    # model needs transcripts to carry spoken turns into a new session as text. "" turns
    # it off (spoken turns then reach a new session as "[audio]").
    history_transcription_model: str | None = None
    # The session's MCP tools go to the vendor, which runs them (OpenAI only); otherwise
    # the gateway runs them and the vendor sees functions.
    mcp_passthrough: bool = False

    def policy(self, cap_seconds: float, input_bytes_per_second: float) -> SupervisorPolicy:
        """``input_bytes_per_second``: of the user's audio as it crosses (PCM16, or G.711
        passed through: one byte a sample), which bounds the backlog in seconds."""
        cap = self.session_cap_seconds or cap_seconds
        margin = min(self.rotate_margin_seconds, cap / 3)
        return SupervisorPolicy(
            rotate_after_seconds=cap - margin,
            connection_limit_seconds=cap - min(margin / 3, 30.0),
            stall_timeout_seconds=self.stall_timeout_seconds,
            max_open_attempts=self.max_open_attempts,
            max_recoveries_per_minute=self.max_recoveries_per_minute,
            max_stalls_in_a_row=self.max_stalls_in_a_row,
            close_timeout_seconds=self.close_timeout_seconds,
            max_backlog_bytes=self.backlog_bytes(input_bytes_per_second),
        )

    def backlog_bytes(self, input_bytes_per_second: float) -> int:
        return int(self.max_backlog_seconds * input_bytes_per_second)


_CONNECTION_KEYS: dict[Vendor, frozenset[str]] = {
    "openai": frozenset({"api_key", "api_base", "organization", "project"}),
    "azure": frozenset({"api_key", "api_base", "azure_ad_token", "api_version"}),
    "xai": frozenset({"api_key", "api_base"}),
}


def connection(vendor: Vendor, params: Mapping[str, object]) -> Connection:
    base = text_param(params, "api_base") or env_value(_BASE_ENV[vendor]) or DEFAULT_BASE[vendor]
    if base is None:
        raise ValueError(
            "api_base is required for Azure OpenAI: the resource endpoint, "
            "https://<resource>.openai.azure.com"
        )
    if not base.startswith(("http://", "https://", "ws://", "wss://")):
        raise ValueError(f"api_base must be an http(s) or ws(s) URL, not {base!r}")
    return Connection(
        vendor=vendor,
        api_base=base.rstrip("/"),
        api_key=text_param(params, "api_key") or env_value(_KEY_ENV[vendor]),
        azure_ad_token=text_param(params, "azure_ad_token") if vendor == "azure" else None,
        api_version=text_param(params, "api_version") if vendor == "azure" else None,
        organization=text_param(params, "organization") if vendor == "openai" else None,
        project=text_param(params, "project") if vendor == "openai" else None,
    )


def session_options(params: Mapping[str, object]) -> SessionOptions:
    return read_options(params, SessionOptions, "OpenAI Realtime")


def param_warnings(vendor: Vendor, name: str, params: Mapping[str, object]) -> list[str]:
    keys = _CONNECTION_KEYS[vendor]
    return unknown_param_warnings(
        keys | frozenset(SessionOptions.__struct_fields__),
        params,
        model_name=name,
        provider="OpenAI Realtime",
        backend=vendor,
        other_backend_keys=frozenset[str]().union(*_CONNECTION_KEYS.values()) - keys,
    )
