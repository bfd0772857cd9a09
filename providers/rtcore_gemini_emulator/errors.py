"""How the Gemini Live service ends a connection: a WebSocket close code and a reason (the
reason is the message; no error frame is sent), with the reasons clients match on
(reference §8)."""

from __future__ import annotations

INVALID_ARGUMENT = "Request contains an invalid argument."
BAD_API_KEY = "API key not valid. Please pass a valid API key."
DEADLINE = "Deadline expired before operation could complete."
INTERNAL = "Internal error encountered."
UNAVAILABLE = "The service is currently unavailable."
QUOTA = "You exceeded your current quota, please check your plan and billing details."
EXHAUSTED = "Resource has been exhausted (e.g. check quota)."
NOT_IMPLEMENTED = "Operation is not implemented, or supported, or enabled."
INVALID_RESOURCE = "Invalid resource field value"
# Google's UNAUTHENTICATED message (HTTP 401), for a Vertex bearer token it did not issue.
UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
# A close frame's reason holds at most 123 bytes (RFC 6455 §5.5): longer messages arrive cut,
# as the captured "... Call ListModels" one did.
MAX_REASON_BYTES = 123


class Close(Exception):
    """End the connection with ``code`` and ``reason``. ``detail`` is for the emulator's own
    log and stats only (the real service says no more than the reason)."""

    def __init__(self, code: int, reason: str, detail: str = "") -> None:
        super().__init__(f"{code} {reason}" + (f" ({detail})" if detail else ""))
        self.code = code
        self.reason = reason
        self.detail = detail

    @property
    def wire_reason(self) -> str:
        data = self.reason.encode()[:MAX_REASON_BYTES]
        return data.decode(errors="ignore")


def invalid(detail: str = "") -> Close:
    return Close(1007, INVALID_ARGUMENT, detail)


def model_not_found(model: str, version: str) -> Close:
    return Close(
        1008,
        f"{model} is not found for API version {version}, or is not supported for "
        "bidiGenerateContent. Call ListModels to see the list of available models and their "
        "supported methods.",
    )


def publisher_model_not_found(model: str) -> Close:
    return Close(
        1008,
        f"Publisher Model `{model}` was not found or your project does not have access to it.",
    )
