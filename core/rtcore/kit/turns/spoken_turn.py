"""The user's spoken turn, for an upstream that says little of it and late.

The OpenAI protocol tells a client of each spoken turn as it happens: speech started (an
item id, where the audio began), speech stopped, then the item's transcript. Some models
say nothing until their transcript, after their own end-of-speech silence, or only that
they heard something; and with push-to-talk the client marks the turn itself. A provider
for such a model keeps a ``SpokenTurn`` and tells it what it learns, in any order:

- ``heard``: the upstream heard the user (its speech signal, a barge-in, a transcript);
- ``measured``: the session measured speech in the audio before the upstream said so
  (announced at once, so that clients hear of the turn while the user speaks), to be
  confirmed by the upstream or dropped as noise (``drop_unconfirmed``);
- ``transcript``: a fragment of the user's words (held until the turn is stopped, so
  that the client sees the item before its transcript);
- ``answered``: the model began its answer (the user's turn is over; a push-to-talk
  commit's item becomes the turn answered);
- ``stop`` and ``close``: the user stopped speaking; the turn's transcript is final
  (``close`` takes the turn's words too, from an upstream that gives them whole at the end);
- ``commit``: the client made the user's audio so far an item: the turn being taken is
  that item (or, if none is, the next one is).

Pure bookkeeping: each method returns the events to emit.
"""

from __future__ import annotations

from rtcore.kit.ids import new_item_id
from rtcore.provider.messages import Event, InputTranscript, SpeechStarted, SpeechStopped

# Speech announced from the audio that the upstream has not taken as a turn after this
# much quiet was noise to it: a server's end-of-turn pause is shorter.
NOISE_AFTER_QUIET_MS = 5000.0


class SpokenTurn:
    def __init__(self) -> None:
        # Push-to-talk: the client marks turns, so no speech events are sent.
        self.manual = False
        # The item a client's commit made of the audio: the next turn is that item.
        self.committed_item: str | None = None
        # The upstream showed it heard the user's audio so far (the replay ring's cue).
        self.heard = False
        # Where the user's audio is now (the provider keeps it current): where a turn
        # closed with no better position of its own ends.
        self.at_ms = 0
        self.item: str | None = None
        self._announced = False
        self._stopped = False
        self._answered = False
        self._held_text: list[str] = []
        # Announced from the session's measure; the upstream has shown no sign of it yet.
        self._unconfirmed = False

    @property
    def open(self) -> bool:
        """A turn is being taken: not yet answered."""
        return self.item is not None and not self._answered

    @property
    def answered(self) -> bool:
        return self.item is not None and self._answered

    @property
    def awaiting_confirmation(self) -> bool:
        return self._unconfirmed and self.open

    def heard_speech(self, onset_ms: int) -> list[Event]:
        """The upstream heard the user: their turn opens (a new one if the last was
        answered), announced unless turns are the client's."""
        self.heard = True
        self._unconfirmed = False
        if self.open:
            return []
        out = self.close() if self.item is not None else []
        self.item = self.committed_item or new_item_id()
        self.committed_item = None
        self._announced = self._stopped = self._answered = False
        self._held_text = []
        if self.manual:
            return out
        self._announced = True
        return [*out, SpeechStarted(item_id=self.item, audio_start_ms=onset_ms)]

    def measured(self, onset_ms: int) -> list[Event]:
        """The session measured speech beginning in the audio the upstream has not shown it
        heard: announced now, unconfirmed (push-to-talk has no speech events)."""
        if self.manual or self.open:
            return []
        heard = self.heard  # measured here, not heard by the upstream
        out = self.heard_speech(onset_ms)
        self.heard = heard
        self._unconfirmed = bool(out)
        return out

    def drop_unconfirmed(self, audio_ms: int) -> list[Event]:
        """Speech announced from the audio that the upstream never took as a turn (a cough,
        a door): the turn closes empty, as a server VAD's false start does."""
        if not self.awaiting_confirmation:
            return []
        self._unconfirmed = False
        return self.close(audio_ms)

    def drop_if_noise(
        self, quiet_ms: float, audio_ms: int, *, silence_ms: float = 0.0
    ) -> list[Event]:
        """``drop_unconfirmed`` once the user has been quiet for longer than the upstream
        could take to end a turn (``NOISE_AFTER_QUIET_MS``, or 3 s past the end-of-speech
        silence the session asked for, ``silence_ms``)."""
        if quiet_ms < max(NOISE_AFTER_QUIET_MS, silence_ms + 3000.0):
            return []
        return self.drop_unconfirmed(audio_ms)

    def transcript(self, text: str, onset_ms: int) -> list[Event]:
        """A fragment of the user's words (opening the turn if none is open)."""
        self._unconfirmed = False
        out = [] if self.item is not None else self.heard_speech(onset_ms)
        assert self.item is not None
        if self._announced and not self._stopped:
            self._held_text.append(text)
            return out
        return [*out, InputTranscript(item_id=self.item, text=text, final=False)]

    def answered_by_model(self, *, own: bool, audio_ms: int) -> list[Event]:
        """The model begins an answer: on its own (``own``: the user's turn ended on the
        model's say) or to a response the client asked for."""
        out: list[Event] = []
        if self.item is None and self.committed_item is not None:
            # A push-to-talk turn answered before any transcript of it.
            self.item, self.committed_item = self.committed_item, None
            self._announced = self._stopped = False
        if own:
            out += self.stop(audio_ms)
        if self.item is not None:
            self._answered = True
            self.heard = True
            self._unconfirmed = False
        return out

    def commit(self, item_id: str) -> None:
        """The client committed the user's audio so far as ``item_id``: the turn being
        taken is that item from now on (what is said of it next is under that id), or
        else the next turn is."""
        if self.open:
            self.item = item_id
        else:
            self.committed_item = item_id

    def stop(self, audio_ms: int | None = None) -> list[Event]:
        """The user stopped speaking (once a turn; the transcript held so far follows)."""
        if self.item is None or not self._announced or self._stopped:
            return []
        self._stopped = True
        end = self.at_ms if audio_ms is None else audio_ms
        out: list[Event] = [SpeechStopped(item_id=self.item, audio_end_ms=end)]
        if self._held_text:
            text, self._held_text = "".join(self._held_text), []
            out.append(InputTranscript(item_id=self.item, text=text, final=False))
        return out

    def close(self, audio_ms: int | None = None, text: str = "") -> list[Event]:
        """The turn is over: stopped if it was not, its transcript final (``text``: the
        turn's words, when the upstream gives them whole at the end)."""
        if self.item is None:
            return []
        out = self.stop(audio_ms)
        out.append(InputTranscript(item_id=self.item, text=text, final=True))
        self.item = None
        self._announced = self._stopped = self._answered = False
        return out
