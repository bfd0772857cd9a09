"""A connection's function calls: those issued and not yet answered, which of them hold their
turn until answered, and what the model reads of a response."""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from .errors import invalid
from .keys import pick
from .models import Model
from .setup import Function


def response_text(response: Any) -> str:
    """What the model reads of a function response: the string of a one-key
    ``{"output": s}`` / ``{"result": s}``, else the response as JSON."""
    if isinstance(response, dict) and len(response) == 1:
        (key, value), *_ = response.items()
        if key in ("output", "result") and isinstance(value, str):
            return value
    return json.dumps(response)


def blocks(model: Model, function: Function) -> bool:
    """Whether a call to ``function`` holds its turn until its response (reference §4.4):
    the model's rule when it has one, else the function's behavior, else the model's
    default."""
    if model.blocking_only:
        return True
    if model.non_blocking_only:
        return False
    if function.behavior:
        return function.behavior == "BLOCKING"
    return not model.non_blocking_default


@dataclass(slots=True)
class Call:
    name: str
    future: asyncio.Future[str] | None  # a blocking call's result; None: NON_BLOCKING


@dataclass
class OpenCalls:
    """The calls issued on a connection and not yet answered."""

    vertex: bool
    _open: dict[str, Call] = field(default_factory=dict)

    @property
    def pending(self) -> bool:
        return bool(self._open)

    def issue(self, name: str, blocking: bool) -> tuple[str, asyncio.Future[str] | None]:
        """A new call's id, and the future its result arrives on when it blocks."""
        call_id = f"function-call-{secrets.randbelow(10**19):019d}"
        future = asyncio.get_running_loop().create_future() if blocking else None
        self._open[call_id] = Call(name, future)
        return call_id, future

    def answering(self, response: dict[str, Any]) -> tuple[str, Call]:
        """The open call a function response answers."""
        call_id = pick(response, "id")
        if not call_id and self.vertex:
            # Vertex Live has taken responses without an id (reference §2.4): the oldest
            # open call of that name.
            name = pick(response, "name")
            call_id = next((i for i, c in self._open.items() if c.name == name), None)
        if not isinstance(call_id, str) or call_id not in self._open:
            # An id this connection never issued, or one already answered.
            raise invalid(f"function response for unknown call id {call_id!r}")
        return call_id, self._open[call_id]

    def close(self, call_id: str) -> None:
        """The call is answered for good, or its turn was interrupted."""
        self._open.pop(call_id, None)
