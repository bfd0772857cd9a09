"""Responses for a model that has none: its output comes in turns, one at a time.

Some upstreams have no response object and no ids: the model takes a turn, produces its
output and ends the turn. The OpenAI protocol wants each reply to be a response with an id,
asked for by the client (``response.create``) or started by the server on its own. A
provider for such a model keeps its responses in ``ResponseTurns``, on top of the
``ResponseLedger``: the model's next turn goes to the requested response that is active, or
is the model answering on its own (announced with ``ResponseStarted`` before its output);
a request made while a turn streams waits for that turn's end (``take_activated`` hands
it to the provider to send). Output of a turn whose response is over (cancelled, cut by a
barge-in) is dropped (``discarding``) until the model ends that turn.

Pure bookkeeping: methods return the events to emit.
"""

from __future__ import annotations

from rtcore.kit.turns.ledger import LedgerResponse, ResponseLedger
from rtcore.provider.messages import (
    CreateResponse,
    Event,
    Modality,
    ResponseDone,
    ResponseError,
    ResponseStatus,
    Usage,
)


class ResponseTurns:
    def __init__(self, modalities: tuple[Modality, ...]) -> None:
        self.ledger = ResponseLedger()
        # The response the model's current turn streams to (None between turns), and its
        # output modalities (until the first turn, the session's).
        self.current: str | None = None
        self.modalities = modalities
        # What is left of a turn whose response is over is dropped until the turn ends.
        self.discarding = False
        self._activated: list[LedgerResponse] = []

    def request(self, create: CreateResponse, modalities: tuple[Modality, ...]) -> bool:
        """Record a requested response; True when it is active now (to be sent)."""
        response = self.ledger.request(create, modalities)
        return self.ledger.active is response

    def take_activated(self) -> list[LedgerResponse]:
        """Requests that became active as an earlier response ended: to be sent now."""
        activated, self._activated = self._activated, []
        return activated

    @property
    def responding(self) -> bool:
        """A response is active: the model's output streams to it, or it was asked for and
        its turn has not begun."""
        return self.ledger.active is not None

    def start(self, own_modalities: tuple[Modality, ...]) -> list[Event]:
        """The model's turn produces output: the response it goes to, announced first when
        the model answers on its own. Call only when ``current`` is None and not
        ``discarding``."""
        out: list[Event] = []
        active = self.ledger.active
        if active is None:
            out.append(self.ledger.start_own(own_modalities))
            active = self.ledger.active
            assert active is not None
        self.current = active.id
        self.modalities = active.modalities
        return out

    def finish(
        self,
        status: ResponseStatus,
        reason: str | None,
        usage: Usage,
        error: ResponseError | None = None,
    ) -> ResponseDone:
        """The current response ends (the next waiting request becomes active)."""
        active = self.ledger.active
        response_id = self.current or (active.id if active is not None else "")
        self.current = None
        done = self.ledger.finish(response_id, status, reason, usage, error)
        assert done is not None, "a response is finished once"
        self._next()
        return done

    def turn_ended(self) -> None:
        """The model ended its turn: what follows is a new turn's."""
        self.discarding = False

    def cancel(self, response_id: str) -> tuple[list[Event], bool]:
        """Cancel by id; True when the model may still be generating it (the provider then
        stops it upstream: the rest of its turn is dropped meanwhile)."""
        active = self.ledger.active
        generating = active is not None and active.id == response_id
        done = self.ledger.cancel(response_id)
        if done is None:
            return [], False
        if generating:
            self.current = None
            self.discarding = True
            self._next()
        return [done], generating

    def fail(self, error: ResponseError) -> list[Event]:
        """The upstream broke: every open response fails."""
        out: list[Event] = []
        if self.current is not None:
            out.append(self.finish("failed", None, Usage(), error))
        out += self.ledger.fail_all("failed", error=error)
        self._activated.clear()
        self.current = None
        self.discarding = False
        return out

    def close(self, usage: Usage) -> list[Event]:
        """The session closes: every open response ends, cancelled."""
        out: list[Event] = []
        if self.current is not None:
            out.append(self.finish("cancelled", None, usage))
        self._activated.clear()
        return out + self.ledger.fail_all("cancelled")

    def _next(self) -> None:
        if (waiting := self.ledger.next_request()) is not None:
            self._activated.append(waiting)
