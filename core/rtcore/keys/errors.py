"""Why a session (or an admin call) is refused: an HTTP status and an OpenAI-style error."""

from __future__ import annotations


class Refusal(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.type = type
        self.param = param
