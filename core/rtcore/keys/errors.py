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


class StoreUnavailable(Refusal):
    """The key store's database cannot be used now (unreachable, read-only, its file
    gone): 503. ``reason`` is for the log and readiness; the client's message says only
    what it may do."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            503,
            "key_store_unavailable",
            "The key store is unavailable, so virtual keys cannot be checked or changed "
            "now; try again shortly.",
            type="server_error",
        )
        self.reason = reason


def invalid(name: str, what: str) -> Refusal:
    """A request field's value refused: ``name must be what.``, naming it in ``param``."""
    return Refusal(400, "invalid_value", f"{name} must be {what}.", param=name)
