"""Bedrock's error names, HTTP statuses and the exact messages clients match on."""

from __future__ import annotations

from typing import Any

# Status codes Bedrock returns when an error happens before the response stream starts.
STATUS = {
    "AccessDeniedException": 403,
    "UnrecognizedClientException": 403,
    "InvalidSignatureException": 403,
    "ExpiredTokenException": 403,
    "ValidationException": 400,
    "ResourceNotFoundException": 404,
    "ThrottlingException": 429,
    "ServiceQuotaExceededException": 429,
    "ModelTimeoutException": 408,
    "ModelStreamErrorException": 424,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
}

MODEL_TIMEOUT = "Model has timed out in processing the request"
RST_STREAM_531 = "InternalErrorCode=531::RST_STREAM closed stream"
SYSTEM_INSTABILITY = "System instability detected. Please retry your request."
CHAT_HISTORY = "Chat history should be sent completely before streaming audio."
THROTTLED = "Too many requests, please wait before trying again."
UNAVAILABLE = "Service unavailable. Try your request again later."
STREAM_ERROR = "The model encountered an error while streaming the response."
ACCESS_DENIED = "You don't have access to the model with the specified model ID."
INVALID_MODEL = "The provided model identifier is invalid."


class BedrockError(Exception):
    """An error the emulator reports to the client as a Bedrock exception."""

    def __init__(
        self,
        name: str,
        message: str,
        *,
        original_status_code: int | None = None,
        original_message: str | None = None,
    ) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message
        self.original_status_code = original_status_code
        self.original_message = original_message

    @property
    def status(self) -> int:
        return STATUS.get(self.name, 400)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.original_status_code is not None:
            body["originalStatusCode"] = self.original_status_code
        if self.original_message is not None:
            body["originalMessage"] = self.original_message
        return body


def validation(message: str) -> BedrockError:
    return BedrockError("ValidationException", message)
