"""How an MCP call or listing failed, in the three kinds OpenAI's events name."""

from __future__ import annotations

from typing import Literal

FailureKind = Literal["http_error", "protocol_error", "tool_execution_error"]


class McpFailure(Exception):
    """``http_error`` (the server could not be reached, answered with an HTTP error or
    took too long: ``code`` is the HTTP status, 503 and 504 for the last two),
    ``protocol_error`` (a JSON-RPC error: its code) or ``tool_execution_error`` (the tool
    itself failed, or its output was over the gateway's cap)."""

    def __init__(self, kind: FailureKind, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.message = message
        self.code = code
