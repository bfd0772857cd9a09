"""Holding a model's own answer until the client asks for it.

Some models answer every user turn on their own, with no way to be told not to. OpenAI's
protocol lets the client decide instead: with push-to-talk (``turn_detection: null``) or
``create_response: false`` the server starts nothing itself and the client's
``response.create`` asks for the reply. A provider for such a model runs its events through
an ``AnswerHold``: a response the model started on its own is kept out of sight
(``ResponseStarted`` and all its output) until a ``CreateResponse`` claims it; from then on
it is that response, under the core's id. A new user turn before any claim makes the held
answer moot: it is dropped (what is still streaming of it too).

Pure bookkeeping: the provider feeds events in and emits what comes out.
"""

from __future__ import annotations

import msgspec

from rtcore.provider.messages import Event, ResponseDone, ResponseStarted, SessionConfig


class AnswerHold:
    def __init__(self) -> None:
        # Hold the model's own answers (the session's turn settings say whether).
        self.enabled = False
        self._held: str | None = None  # the model's id for the answer kept back
        self._buffer: list[Event] = []
        self._finished = False
        self._claimed: tuple[str, str] | None = None  # (model's id, core's id)
        self._dropped: str | None = None  # a dropped answer that is still streaming

    def follow(self, config: SessionConfig) -> None:
        """Hold answers exactly when the client, not the server, starts responses:
        push-to-talk, or server VAD with ``create_response: false``."""
        td = config.turn_detection
        self.enabled = td is None or not td.create_response

    @property
    def has_answer(self) -> bool:
        """An answer is held that a ``CreateResponse`` can claim."""
        return self._held is not None

    def model_id(self, core_id: str) -> str:
        """The model's id for a response the core knows as ``core_id``."""
        if self._claimed is not None and self._claimed[1] == core_id:
            return self._claimed[0]
        return core_id

    def feed(self, event: Event) -> list[Event]:
        """What of ``event`` the client may see now."""
        rid = getattr(event, "response_id", None)
        if rid is None:
            return [event]
        if isinstance(event, ResponseStarted) and self.enabled and self._held is None:
            self._held, self._buffer, self._finished = rid, [], False
            return []
        if rid == self._dropped:
            if isinstance(event, ResponseDone):
                self._dropped = None
            return []
        if rid == self._held:
            self._buffer.append(event)
            self._finished = self._finished or isinstance(event, ResponseDone)
            return []
        if self._claimed is not None and rid == self._claimed[0]:
            if isinstance(event, ResponseDone):
                core_id = self._claimed[1]
                self._claimed = None
                return [msgspec.structs.replace(event, response_id=core_id)]
            return [msgspec.structs.replace(event, response_id=self._claimed[1])]
        return [event]

    def claim(self, core_id: str) -> list[Event]:
        """The client asked for a response: the held answer becomes it. Returns what the
        answer produced so far, under ``core_id`` (all of it, done included, if it has
        finished; the rest follows through ``feed``)."""
        assert self._held is not None, "nothing is held"
        held, buffer, self._held, self._buffer = self._held, self._buffer, None, []
        if not self._finished:
            self._claimed = (held, core_id)
        return [
            msgspec.structs.replace(e, response_id=core_id)
            for e in buffer
            if not isinstance(e, ResponseStarted)
        ]

    def answer_for(self, core_id: str, *, conversation_grew: bool) -> list[Event] | None:
        """A ``CreateResponse`` arrived. Where the model already answered the turn it asks
        about (an answer is held and the client added nothing to the conversation since),
        that answer is the reply: what it produced so far, under ``core_id``. Else None:
        a held answer is moot (dropped), and the model is to be asked."""
        if self._held is None:
            return None
        if conversation_grew:
            self.drop()
            return None
        return self.claim(core_id)

    def drop(self) -> None:
        """A new user turn: the held answer, never seen, is gone (the rest of it too)."""
        if self._held is not None and not self._finished:
            self._dropped = self._held
        self._held, self._buffer, self._finished = None, [], False
