"""OpenAI Realtime ``error`` events and the closes that follow the fatal ones (reference §3.6)."""

from __future__ import annotations

from typing import Any

from .ids import event_id


class ClientError(Exception):
    """A client event the server refuses with an ``error`` event; the socket stays open."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = "invalid_value",
        param: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.kind = kind


class Close(Exception):
    """End the connection: an optional ``error`` event, then a close frame."""

    def __init__(self, code: int, reason: str, error: ClientError | None = None) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason
        self.error = error


def error_event(error: ClientError, client_event_id: str | None = None) -> dict[str, Any]:
    """``error.event_id`` echoes the client event's id, or null (reference §3.6)."""
    return {
        "type": "error",
        "event_id": event_id(),
        "error": {
            "type": error.kind,
            "code": error.code,
            "message": error.message,
            "param": error.param,
            "event_id": client_event_id,
        },
    }


def fatal(code: int, error: ClientError) -> Close:
    """A refusal after the upgrade: ``error``, then a close whose reason is
    ``<type>.<code>`` (``invalid_request_error.invalid_api_key``, reference §3.6)."""
    reason = error.kind if error.code is None else f"{error.kind}.{error.code}"
    return Close(code, reason, error)


def missing_auth() -> Close:
    return fatal(
        3000,
        ClientError("Missing bearer or basic authentication in header", code=None),
    )


def bad_key(key: str) -> Close:
    shown = key if len(key) <= 8 else f"{key[:3]}*****{key[-4:]}"
    return fatal(
        3000,
        ClientError(
            f"Incorrect API key provided: {shown}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        ),
    )


def missing_model() -> Close:
    return fatal(
        4000,
        ClientError(
            "You must provide a model parameter in the query string, e.g. ?model=gpt-realtime.",
            code="missing_model",
        ),
    )


def invalid_model(model: str) -> Close:
    return fatal(
        4000,
        ClientError(
            f'Model "{model}" is not supported in realtime mode. Use a realtime model such '
            "as gpt-realtime.",
            code="invalid_model",
            param="model",
        ),
    )


def beta_disabled() -> Close:
    return fatal(
        4000,
        ClientError(
            "The Realtime API beta shape is disabled: remove the 'OpenAI-Beta: realtime=v1' "
            "header to use the GA interface.",
            code="beta_api_shape_disabled",
        ),
    )


def rate_limited() -> ClientError:
    return ClientError(
        "Rate limit reached for requests. Please try again in 1s.",
        code="rate_limit_exceeded",
        kind="rate_limit_error",
    )


def server_error() -> ClientError:
    return ClientError(
        "The server had an error while processing your request. Sorry about that!",
        code="server_error",
        kind="server_error",
    )


def session_expired(cap_seconds: float) -> Close:
    if cap_seconds >= 60 and cap_seconds % 60 == 0:
        length = f"{int(cap_seconds // 60)} minutes"
    else:
        length = f"{cap_seconds:g} seconds"
    return fatal(
        1000,
        ClientError(f"Your session hit the maximum duration of {length}.", code="session_expired"),
    )


# Azure refuses at the handshake with an HTTP status and a JSON body (reference §2).
AZURE_BAD_MODEL_BODY: dict[str, Any] = {
    "error": {
        "code": "OpperationNotSupported",
        "message": "The realtime operation does not work with the specified model, "
        "{model}. Please choose different model and try again. You can learn more about "
        "which models can be used with each operation here: "
        "https://go.microsoft.com/fwlink/?linkid=2197993.",
    }
}
AZURE_BAD_KEY_BODY: dict[str, Any] = {
    "error": {
        "code": "401",
        "message": "Access denied due to invalid subscription key or wrong API endpoint. "
        "Make sure to provide a valid key for an active subscription and use a correct "
        "regional API endpoint for your resource.",
    }
}
AZURE_THROTTLED_BODY: dict[str, Any] = {
    "error": {
        "code": "429",
        "message": "Requests to the Realtime API have exceeded call rate limit of your "
        "current pricing tier. Please retry after 1 second.",
    }
}
