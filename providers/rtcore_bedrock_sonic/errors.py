"""Bedrock failures -> one small record: a code, a message that says what to do, and
whether trying again can help."""

from __future__ import annotations

import re

import msgspec

from rtcore.kit import UpstreamFailure
from rtcore_bedrock_sonic.models import profile_for

__all__ = ["UpstreamFailure", "classify", "model_not_offered"]


# Transient ValidationExceptions Bedrock sends for its own trouble (seen by peers).
_TRANSIENT_VALIDATION = (
    "531",
    "RST_STREAM",
    "System instability",
    "Please retry",
    "try again",
)


# Bedrock's answer at open for a model id it does not offer in the region (or does not know).
_INVALID_MODEL = "model identifier is invalid"


def model_not_offered(region: str | None, model_id: str | None, detail: str) -> UpstreamFailure:
    where = f"in {region}" if region else "at this endpoint"
    profile = profile_for(model_id) if model_id else None
    if profile is not None and profile.regions:
        advice = (
            f"it runs in {', '.join(profile.regions)}. Set aws_region_name "
            "(or AWS_REGION) to one of them"
        )
    else:
        advice = "Set aws_region_name (or AWS_REGION) to a region whose Bedrock offers it"
    return UpstreamFailure(
        "model_not_found",
        f"Bedrock does not offer {model_id or 'this model'} {where}: {advice}, and check "
        f"the model id. ({detail})",
        retryable=False,
    )


class _Known(msgspec.Struct, frozen=True):
    code: str
    retryable: bool
    advice: str


_KNOWN = {
    "AccessDeniedException": _Known(
        "access_denied",
        False,
        "Access denied by Bedrock: grant bedrock:InvokeModelWithBidirectionalStream "
        "(and enable access to the model in the Bedrock console for this region).",
    ),
    "ThrottlingException": _Known(
        "rate_limit_exceeded", True, "Bedrock is throttling requests; retry later."
    ),
    "ServiceQuotaExceededException": _Known(
        "rate_limit_exceeded",
        True,
        "The Bedrock quota (concurrent Nova Sonic streams) is exhausted; close other "
        "sessions or ask AWS for a higher quota.",
    ),
    "ServiceUnavailableException": _Known(
        "service_unavailable", True, "Bedrock is temporarily unavailable."
    ),
    "InternalServerException": _Known("server_error", True, "Bedrock had an internal error."),
    "ModelStreamErrorException": _Known("server_error", True, "The model stream failed."),
    "ModelTimeoutException": _Known(
        "session_expired", True, "The Bedrock stream reached its time limit."
    ),
    "ModelNotReadyException": _Known("model_not_ready", True, "The model is not ready yet."),
    "ModelErrorException": _Known("server_error", True, "The model failed."),
    "UnrecognizedClientException": _Known(
        "invalid_credentials", False, "AWS rejected the credentials: check the access key."
    ),
    "InvalidSignatureException": _Known(
        "invalid_credentials", False, "AWS rejected the request signature: check the secret key."
    ),
    "ExpiredTokenException": _Known(
        "invalid_credentials", False, "The AWS session token has expired: refresh credentials."
    ),
}


_UNMODELED_ID = re.compile(r"id: [\w.]+#(\w+)")


def _message_of(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    original = getattr(exc, "original_message", None)
    if original:
        message = f"{message} ({original})"
    return str(message)


def classify(
    exc: BaseException, *, region: str | None = None, model_id: str | None = None
) -> UpstreamFailure:
    """Map an SDK or transport exception to an ``UpstreamFailure``; ``region`` and
    ``model_id`` (when known) go into the advice for a model the region does not offer."""
    if isinstance(exc, UpstreamFailure):
        return exc
    name = type(exc).__name__
    detail = _message_of(exc)
    code_attr = getattr(exc, "code", None)
    if name == "UnmodeledEventError" and isinstance(code_attr, str):
        name = code_attr if code_attr.endswith("Exception") else f"{code_attr}Exception"
        name = name[:1].upper() + name[1:]
    if name == "CallError" and (unmodeled := _UNMODELED_ID.search(detail)) is not None:
        # An error the SDK has no model for (UnrecognizedClientException...): its id.
        name = unmodeled.group(1)
    if name == "ResourceNotFoundException" or (
        name == "ValidationException" and _INVALID_MODEL in detail
    ):
        return model_not_offered(region, model_id, detail)
    if name == "ValidationException":
        if any(marker in detail for marker in _TRANSIENT_VALIDATION):
            return UpstreamFailure("server_error", f"Bedrock: {detail}", retryable=True)
        return UpstreamFailure(
            "invalid_request_error", f"Bedrock rejected the request: {detail}", retryable=False
        )
    known = _KNOWN.get(name)
    if known is not None:
        return UpstreamFailure(known.code, f"{known.advice} ({detail})", retryable=known.retryable)
    if isinstance(exc, TimeoutError):
        return UpstreamFailure(
            "upstream_timeout",
            "Bedrock did not answer in time: network trouble, an endpoint that does not "
            "speak HTTP/2 over TLS, or a server certificate the client does not trust (check "
            "ssl_ca_file; awscrt reports a failed TLS handshake only after 15-30 s, so the "
            "open timeout, open_timeout_seconds, ends the wait first).",
            retryable=True,
        )
    if isinstance(exc, OSError | ConnectionError) or name in {"AwsCrtError", "EventError"}:
        return UpstreamFailure(
            "connection_error", f"Connection to Bedrock failed: {detail}", retryable=True
        )
    return UpstreamFailure("provider_error", f"Bedrock failed: {name}: {detail}", retryable=False)
