"""Gemini Live's failures -> one small record: a code, a message that says what to do,
and whether a new connection can help.

Gemini reports errors as WebSocket close codes with a reason, which the SDK raises as
``APIError(code, reason)``: 1007 for a bad request or key, 1008 for a model it does not
serve (and some quota errors), 1011 for its own trouble, quotas and a connection at its
time limit, 1000 for a Vertex connection at its end.
"""

from __future__ import annotations

import ssl

from rtcore.kit import UpstreamFailure


def _reason(exc: BaseException) -> tuple[int | None, str]:
    code = getattr(exc, "code", None)
    details = getattr(exc, "details", None)
    text = details if isinstance(details, str) else str(getattr(exc, "message", None) or exc)
    return (code if isinstance(code, int) else None), text


def classify(exc: BaseException, *, model: str = "") -> UpstreamFailure:
    if isinstance(exc, UpstreamFailure):
        return exc
    code, reason = _reason(exc)
    lower = reason.lower()
    said = f"(Gemini: {code} {reason})" if code is not None else f"({reason})"
    if "api key" in lower or code in (401, 403) or "permission" in lower:
        return UpstreamFailure(
            "invalid_api_key",
            f"Gemini rejected the credentials: check api_key (or GEMINI_API_KEY), or the "
            f"Vertex AI credentials and their permissions. {said}",
            retryable=False,
        )
    if "not found" in lower or "not supported for bidigeneratecontent" in lower:
        return UpstreamFailure(
            "model_not_found",
            f"Gemini does not serve {model or 'this model'} for the Live API: check the "
            f"model id (docs/providers/gemini-live.md lists the live models). {said}",
            retryable=False,
        )
    if "billing" in lower or "plan" in lower:
        return UpstreamFailure(
            "insufficient_quota",
            f"The Gemini quota is used up: check the plan and billing of the project. {said}",
            retryable=False,
        )
    if "exhausted" in lower or "quota" in lower or "rate limit" in lower or code == 429:
        return UpstreamFailure(
            "rate_limit_exceeded",
            f"Gemini is throttling this project (requests or concurrent sessions); retry "
            f"later or ask for a higher quota. {said}",
            retryable=True,
        )
    if "location is not supported" in lower:
        return UpstreamFailure(
            "unsupported_region",
            f"Gemini does not serve the Live API where this gateway runs. {said}",
            retryable=False,
        )
    if code == 1007:
        return UpstreamFailure(
            "invalid_request_error",
            f"Gemini rejected the session's settings or input. {said}",
            retryable=False,
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return UpstreamFailure(
            "connection_error",
            f"Gemini's TLS certificate is not trusted: check ssl_ca_file. ({exc})",
            retryable=False,
        )
    why = "its time limit" if "deadline" in lower else "a server error"
    if code in (1000, 1001, 1006, 1011, 1012, 1013, 1014) or (code is not None and code >= 500):
        return UpstreamFailure(
            "server_error",
            f"The Gemini connection ended ({why}); resuming the session. {said}",
            retryable=True,
        )
    if isinstance(exc, TimeoutError):
        return UpstreamFailure(
            "upstream_timeout",
            "Gemini did not answer in time: network trouble, or a server certificate the "
            "client does not trust (check ssl_ca_file).",
            retryable=True,
        )
    if isinstance(exc, OSError | ConnectionError):
        return UpstreamFailure(
            "connection_error", f"Connection to Gemini failed: {exc}", retryable=True
        )
    return UpstreamFailure(
        "provider_error", f"Gemini failed: {type(exc).__name__}: {reason}", retryable=False
    )
