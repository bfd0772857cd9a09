"""Responses on the provider's side of the boundary, by id.

The ledger is where a provider's responses get their one ``ResponseDone`` each: the core
asks for one (``request``), or the provider starts one on its own (``start_own``, which
returns its announcement), and every way a response can end (``finish``, ``cancel``,
``fail_all`` at a close or a broken upstream) goes through here, so a second done for an id
cannot happen. It does no I/O: its methods return the events for the provider to emit.
"""

from __future__ import annotations

from collections import deque

import msgspec

from rtcore.kit.ids import new_response_id
from rtcore.provider.messages import (
    CreateResponse,
    Modality,
    ResponseDone,
    ResponseError,
    ResponseOptions,
    ResponseStarted,
    ResponseStatus,
    Usage,
)

_NO_USAGE = Usage()


class LedgerResponse(msgspec.Struct, kw_only=True):
    """One open response. ``requested``: the core asked for it (else the provider started
    it); ``conversation``: its output joins the conversation."""

    id: str
    options: ResponseOptions = ResponseOptions()
    modalities: tuple[Modality, ...] = ("audio",)
    requested: bool = True
    conversation: bool = True


class ResponseLedger:
    """At most one response streams at a time (``active``); requests that arrive while one
    streams wait in order (``waiting``) until ``next_request`` takes them."""

    def __init__(self) -> None:
        self.active: LedgerResponse | None = None
        self.waiting: deque[LedgerResponse] = deque()

    def request(self, create: CreateResponse, modalities: tuple[Modality, ...]) -> LedgerResponse:
        """Record a ``CreateResponse``; it is active at once if nothing else is."""
        response = LedgerResponse(
            id=create.response_id,
            options=create.options,
            modalities=create.options.output_modalities or modalities,
            conversation=create.conversation,
        )
        if self.active is None:
            self.active = response
        else:
            self.waiting.append(response)
        return response

    def next_request(self) -> LedgerResponse | None:
        """Make the oldest waiting request active (when nothing is)."""
        if self.active is None and self.waiting:
            self.active = self.waiting.popleft()
            return self.active
        return None

    def start_own(self, modalities: tuple[Modality, ...]) -> ResponseStarted:
        """The provider's turn detection starts a response (``active`` from now on); emit
        the announcement before any of its output."""
        assert self.active is None, "a response is already active"
        response = LedgerResponse(id=new_response_id(), modalities=modalities, requested=False)
        self.active = response
        return ResponseStarted(response_id=response.id)

    def is_open(self, response_id: str) -> bool:
        return (self.active is not None and self.active.id == response_id) or any(
            r.id == response_id for r in self.waiting
        )

    def finish(
        self,
        response_id: str,
        status: ResponseStatus = "completed",
        reason: str | None = None,
        usage: Usage = _NO_USAGE,
        error: ResponseError | None = None,
    ) -> ResponseDone | None:
        """The one done of an open response; None if it is not open (nothing to send)."""
        return self._close(response_id, status, reason, usage, error)

    def cancel(self, response_id: str, reason: str = "client_cancelled") -> ResponseDone | None:
        """Cancel by id; an unknown or closed id is a no-op (None)."""
        return self._close(response_id, "cancelled", reason, _NO_USAGE)

    def fail_all(
        self,
        status: ResponseStatus = "failed",
        reason: str | None = None,
        error: ResponseError | None = None,
    ) -> list[ResponseDone]:
        """Close every open response: the session ends, or its upstream broke (``error``
        says how)."""
        open_ids = [r.id for r in ([self.active] if self.active else []) + list(self.waiting)]
        return [d for i in open_ids if (d := self._close(i, status, reason, _NO_USAGE, error))]

    def _close(
        self,
        response_id: str,
        status: ResponseStatus,
        reason: str | None,
        usage: Usage,
        error: ResponseError | None = None,
    ) -> ResponseDone | None:
        if self.active is not None and self.active.id == response_id:
            self.active = None
        else:
            kept = [r for r in self.waiting if r.id != response_id]
            if len(kept) == len(self.waiting):
                return None
            self.waiting = deque(kept)
        return ResponseDone(
            response_id=response_id, status=status, reason=reason, usage=usage, error=error
        )
