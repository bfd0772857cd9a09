"""The upstream's failures -> one small record: a code the client can act on, a message
that says what to do, and whether a new connection can help.

OpenAI validates the key and the model after the WebSocket upgrade: an ``error`` event,
then a close 3000 (auth) or 4000 (model, beta shape). Azure refuses a model it does not
deploy with an HTTP 400 at the handshake (and a bad key with 401). ``session_expired`` is
the vendor's session cap: a new connection continues the conversation.
"""

from __future__ import annotations

import ssl
from typing import Any

from rtcore.kit import THROTTLED, UpstreamFailure

_AUTH = {"invalid_api_key", "invalid_authentication", "authentication_error", "unauthorized"}
_MODEL = {"invalid_model", "missing_model", "model_not_found", "deployment_not_found"}


def from_error_event(error: dict[str, Any], vendor: str, model: str) -> UpstreamFailure | None:
    """The failure an ``error`` event means for the connection, or None when the session
    goes on (the error is the client's to hear)."""
    code = str(error.get("code") or "")
    kind = str(error.get("type") or "")
    said = str(error.get("message") or "")
    if code == "session_expired":
        return UpstreamFailure(
            "session_expired",
            f"The {vendor} session reached its time limit; continuing on a new one. ({said})",
            retryable=True,
        )
    if code in _AUTH or (not code and "authentication" in said.lower()):
        return UpstreamFailure(
            "invalid_api_key",
            f"{_name(vendor)} rejected the credentials: check api_key (or the vendor's API "
            f"key variable). ({said})",
            retryable=False,
        )
    if code in _MODEL:
        return UpstreamFailure(
            "model_not_found",
            f"{_name(vendor)} does not serve {model!r} as a realtime model: check the model "
            f"(or Azure deployment) name. ({said})",
            retryable=False,
        )
    if code == "beta_api_shape_disabled":
        return UpstreamFailure("invalid_request_error", said, retryable=False)
    del kind  # a server_error fails its response (response.done follows); the socket stays
    return None


def at_connect(error: dict[str, Any], vendor: str, model: str) -> UpstreamFailure:
    """An ``error`` that came instead of the session's greeting: the connection closes
    after it."""
    code = str(error.get("code") or "")
    said = str(error.get("message") or "")
    if code == "rate_limit_exceeded" or str(error.get("type")) == "rate_limit_error":
        return UpstreamFailure(THROTTLED, f"{_name(vendor)} is throttling: {said}", retryable=True)
    failure = from_error_event(error, vendor, model)
    if failure is not None:
        return failure
    return UpstreamFailure(
        code or "provider_error", f"{_name(vendor)} refused the session: {said}", retryable=False
    )


def from_close(code: int | None, reason: str, vendor: str, model: str) -> UpstreamFailure:
    if code == 3000:
        return UpstreamFailure(
            "invalid_api_key",
            f"{_name(vendor)} rejected the credentials: check api_key. ({reason})",
            retryable=False,
        )
    if code == 4000:
        return UpstreamFailure(
            "model_not_found",
            f"{_name(vendor)} refused the session for {model!r}: check the model name. ({reason})",
            retryable=False,
        )
    return UpstreamFailure(
        "connection_error",
        f"The {_name(vendor)} connection ended ({code} {reason}); reconnecting.",
        retryable=True,
    )


def from_exception(exc: BaseException, vendor: str, model: str) -> UpstreamFailure:
    """A failure to open or use the connection."""
    if isinstance(exc, UpstreamFailure):
        return exc
    status = getattr(getattr(exc, "response", None), "status_code", None)
    body = getattr(getattr(exc, "response", None), "body", b"") or b""
    text = body.decode("utf-8", "replace")[:300] if isinstance(body, bytes) else str(body)
    if status in (401, 403):
        return UpstreamFailure(
            "invalid_api_key",
            f"{_name(vendor)} rejected the credentials (HTTP {status}): check api_key or "
            f"azure_ad_token. {text}",
            retryable=False,
        )
    if status in (400, 404):
        return UpstreamFailure(
            "model_not_found",
            f"{_name(vendor)} refused a realtime session for {model!r} (HTTP {status}): "
            f"check the deployment or model name. {text}",
            retryable=False,
        )
    if status == 429:
        return UpstreamFailure(THROTTLED, f"{_name(vendor)} is throttling: {text}", retryable=True)
    if status is not None:
        return UpstreamFailure(
            "server_error", f"{_name(vendor)} answered HTTP {status}: {text}", retryable=True
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return UpstreamFailure(
            "connection_error",
            f"{_name(vendor)}'s TLS certificate is not trusted ({exc}).",
            retryable=False,
        )
    if isinstance(exc, TimeoutError):
        return UpstreamFailure(
            "upstream_timeout", f"{_name(vendor)} did not answer in time.", retryable=True
        )
    if isinstance(exc, OSError):
        return UpstreamFailure(
            "connection_error", f"Connection to {_name(vendor)} failed: {exc}", retryable=True
        )
    close = getattr(exc, "rcvd", None)
    if close is not None:
        return from_close(close.code, close.reason, vendor, model)
    return UpstreamFailure(
        "connection_error",
        f"The {_name(vendor)} connection failed: {type(exc).__name__}: {exc}",
        retryable=True,
    )


def _name(vendor: str) -> str:
    return {"openai": "OpenAI", "azure": "Azure OpenAI", "xai": "xAI"}.get(vendor, vendor)
