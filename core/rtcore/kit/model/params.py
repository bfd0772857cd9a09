"""A model's ``litellm_params`` as a provider reads them: its tunables (``SessionTunables``,
the supervisor's, which a provider's own options extend) read with ``read_options``, its
strings with ``text_param`` / ``env_value``, and every key it does not read named in a
warning by ``unknown_param_warnings``, so that none is ignored unheard."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping, Set

import msgspec

from rtcore.kit.upstream.adapter import SupervisorPolicy

# LiteLLM settings that mean something to LiteLLM's router or billing, nothing to a
# provider (the core applies rpm, max_parallel_requests and timeout before params reach it).
LITELLM_ONLY = frozenset(
    {
        "rpm", "tpm", "timeout", "stream_timeout", "max_retries", "input_cost_per_second",
        "output_cost_per_second", "input_cost_per_token", "output_cost_per_token",
        "mock_response", "tags", "max_parallel_requests", "weight", "order",
        "custom_llm_provider",
    }
)  # fmt: skip


_POLICY = SupervisorPolicy()


class SessionTunables(msgspec.Struct, frozen=True, kw_only=True):
    """The supervisor's tunables as model options: a provider's options subclass this,
    redeclaring a field to change its default (its docs name each default)."""

    # The supervisor's defaults are its policy's, written once there.
    rotate_after_seconds: float = _POLICY.rotate_after_seconds
    connection_limit_seconds: float = _POLICY.connection_limit_seconds
    open_timeout_seconds: float = 10.0
    close_timeout_seconds: float = _POLICY.close_timeout_seconds
    max_open_attempts: int = _POLICY.max_open_attempts
    backoff_initial_seconds: float = _POLICY.backoff_initial_seconds
    backoff_max_seconds: float = _POLICY.backoff_max_seconds
    throttle_attempts: int = _POLICY.throttle_attempts
    throttle_backoff_initial_seconds: float = _POLICY.throttle_backoff_initial_seconds
    throttle_backoff_max_seconds: float = _POLICY.throttle_backoff_max_seconds
    max_recoveries_per_minute: int = _POLICY.max_recoveries_per_minute
    max_stalls_in_a_row: int = _POLICY.max_stalls_in_a_row
    stall_timeout_seconds: float = _POLICY.stall_timeout_seconds
    # In seconds, not bytes: the operator knows how long a wait should be bridged, not the
    # audio's rate (the policy's default is 60 s of 16 kHz PCM16).
    max_backlog_seconds: float = _POLICY.max_backlog_bytes / 32000

    def policy(self, input_rate: int) -> SupervisorPolicy:
        """The supervisor's policy for PCM16 input at ``input_rate`` Hz."""
        same = (name for name in SupervisorPolicy.__struct_fields__ if name != "max_backlog_bytes")
        return SupervisorPolicy(
            **{name: getattr(self, name) for name in same},
            max_backlog_bytes=int(self.max_backlog_seconds * input_rate * 2),
        )


def read_options[T: msgspec.Struct](
    params: Mapping[str, object], options: type[T], provider: str
) -> T:
    """The fields of ``options`` found in ``params``; a bad value is a ValueError naming the
    provider and the key. Not strict: a value from ``os.environ/NAME`` is a string."""
    picked = {name: params[name] for name in options.__struct_fields__ if name in params}
    try:
        return msgspec.convert(picked, options, strict=False)
    except msgspec.ValidationError as exc:
        said = str(exc).replace("`$.", "`litellm_params.")
        raise ValueError(f"Invalid {provider} option: {said}") from None


def text_param(params: Mapping[str, object], key: str) -> str | None:
    """A string option, stripped, or None when absent. Blank is an error rather than
    absent: an ``os.environ/NAME`` of an empty variable should not quietly fall back."""
    value = params.get(key)
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return value.strip()
    # Only the type of a non-string: the value may be a secret.
    found = repr(value) if isinstance(value, str) else type(value).__name__
    raise ValueError(f"litellm_params.{key} must be a non-empty string, not {found}")


def env_value(names: Iterable[str]) -> str | None:
    """The first of ``names`` set to something other than blanks in the environment."""
    return next((v for name in names if (v := os.environ.get(name, "").strip())), None)


def unknown_param_warnings(
    known: Set[str],
    params: Mapping[str, object],
    *,
    model_name: str,
    provider: str,
    litellm_only: Set[str] = LITELLM_ONLY,
    backend: str = "",
    other_backend_keys: Set[str] = frozenset(),
) -> list[str]:
    """A warning for each key of ``params`` not in ``known``: a LiteLLM-only setting as
    such, a key of another backend of the provider (``backend`` the one in use), anything
    else with the known key it was probably meant to be."""
    out: list[str] = []
    for key in sorted(params):
        if key in known:
            continue
        where = f"model {model_name!r}: litellm_params.{key}"
        if key in litellm_only:
            out.append(f"{where} is a LiteLLM setting rtcore does not use; it is ignored")
        elif key in other_backend_keys:
            out.append(f"{where} is not used by the {backend} backend; it is ignored")
        else:
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]}?" if close else ""
            out.append(f"{where} is not an option of the {provider} provider and is ignored{hint}")
    return out
