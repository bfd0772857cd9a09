"""Gemini Live's failures -> one small record: a code, a message that says what to do,
and whether a new connection can help.

Gemini reports errors as WebSocket close codes with a reason, which the SDK raises as
``APIError(code, reason)``: 1007 for a bad request or key, 1008 for a model it does not
serve (and some quota errors), 1011 for its own trouble, quotas and a connection at its
time limit, 1000 for a Vertex connection at its end.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import NamedTuple

from rtcore.kit import UpstreamFailure


def _reason(exc: BaseException) -> tuple[int | None, str]:
    code = getattr(exc, "code", None)
    details = getattr(exc, "details", None)
    text = details if isinstance(details, str) else str(getattr(exc, "message", None) or exc)
    return (code if isinstance(code, int) else None), text


class _Seen(NamedTuple):
    """What a failure shows: the exception, its close (or HTTP) code, its reason in lower
    case."""

    exc: BaseException
    code: int | None
    lower: str


class _Rule(NamedTuple):
    applies: Callable[[_Seen], bool]
    code: str
    # A ``str.format`` template: ``said`` (Gemini's code and reason), ``model``, ``why``
    # (why a connection ended), ``exc``.
    message: str
    retryable: bool


_SERVER_CLOSE_CODES = frozenset({1000, 1001, 1006, 1011, 1012, 1013, 1014})

# The first rule that applies wins: a reason can match more than one (a quota error on a
# 1008 close, a TLS failure that is also an OSError), so the order is the precedence.
_RULES: tuple[_Rule, ...] = (
    _Rule(
        lambda f: "api key" in f.lower or f.code in (401, 403) or "permission" in f.lower,
        "invalid_api_key",
        "Gemini rejected the credentials: check api_key (or GEMINI_API_KEY), or the "
        "Vertex AI credentials and their permissions. {said}",
        retryable=False,
    ),
    _Rule(
        lambda f: "not found" in f.lower or "not supported for bidigeneratecontent" in f.lower,
        "model_not_found",
        "Gemini does not serve {model} for the Live API: check the model id "
        "(docs/providers/gemini-live.md lists the live models). {said}",
        retryable=False,
    ),
    _Rule(
        lambda f: "billing" in f.lower or "plan" in f.lower,
        "insufficient_quota",
        "The Gemini quota is used up: check the plan and billing of the project. {said}",
        retryable=False,
    ),
    _Rule(
        lambda f: any(w in f.lower for w in ("exhausted", "quota", "rate limit")) or f.code == 429,
        "rate_limit_exceeded",
        "Gemini is throttling this project (requests or concurrent sessions); retry later "
        "or ask for a higher quota. {said}",
        retryable=True,
    ),
    _Rule(
        lambda f: "location is not supported" in f.lower,
        "unsupported_region",
        "Gemini does not serve the Live API where this gateway runs. {said}",
        retryable=False,
    ),
    _Rule(
        lambda f: f.code == 1007,
        "invalid_request_error",
        "Gemini rejected the session's settings or input. {said}",
        retryable=False,
    ),
    _Rule(
        lambda f: isinstance(f.exc, ssl.SSLCertVerificationError),
        "connection_error",
        "Gemini's TLS certificate is not trusted: check ssl_ca_file. ({exc})",
        retryable=False,
    ),
    _Rule(
        lambda f: f.code in _SERVER_CLOSE_CODES or (f.code is not None and f.code >= 500),
        "server_error",
        "The Gemini connection ended ({why}); resuming the session. {said}",
        retryable=True,
    ),
    _Rule(
        lambda f: isinstance(f.exc, TimeoutError),
        "upstream_timeout",
        "Gemini did not answer in time: network trouble, or a server certificate the "
        "client does not trust (check ssl_ca_file).",
        retryable=True,
    ),
    _Rule(
        lambda f: isinstance(f.exc, OSError | ConnectionError),
        "connection_error",
        "Connection to Gemini failed: {exc}",
        retryable=True,
    ),
)


def classify(exc: BaseException, *, model: str = "") -> UpstreamFailure:
    if isinstance(exc, UpstreamFailure):
        return exc
    code, reason = _reason(exc)
    seen = _Seen(exc, code, reason.lower())
    for rule in _RULES:
        if rule.applies(seen):
            message = rule.message.format(
                said=f"(Gemini: {code} {reason})" if code is not None else f"({reason})",
                model=model or "this model",
                why="its time limit" if "deadline" in seen.lower else "a server error",
                exc=exc,
            )
            return UpstreamFailure(rule.code, message, retryable=rule.retryable)
    return UpstreamFailure(
        "provider_error", f"Gemini failed: {type(exc).__name__}: {reason}", retryable=False
    )
