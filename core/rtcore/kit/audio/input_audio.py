"""User-audio bookkeeping for one session: position, speech onset, and the replay ring.

An upstream that reports the user's speech only after the fact (with its transcript, say)
leaves the session to measure it: a cheap energy measure supplies the ``audio_start_ms`` of
the utterance and tells whether recent audio holds speech that no stream has answered yet,
which a new stream (a rotation, a recovery) must hear again.

The audio is the session's input as it crosses to the provider: PCM16, or G.711 passed
through (``SessionConfig.input_encoding``), which is decoded for the measure only.
"""

from __future__ import annotations

import numpy as np

from rtcore.audio import g711
from rtcore.provider.messages import AudioEncoding

# -40 dBFS over 20 ms frames: quiet rooms stay under it, speech is well above.
_SPEECH_RMS = 0.01 * 32768
_FRAME_MS = 20
_QUIET_MS_FOR_NEW_ONSET = 300
# Voiced audio this long, after quiet, is an utterance beginning (not a click): what
# server VADs wait for before they say speech started.
_VOICED_MS_FOR_SPEECH = 100
# Noted audio is measured at the latest once this much waits (one numpy pass a second).
_PENDING_SECONDS = 1.0
# A trimmed ring keeps this much before the speech a replay may ask for (a replay's own
# lead is 300 ms; an upstream's idea of where speech began may be a little earlier than
# this measure's), and this much of the latest audio whatever it holds.
_KEEP_BEFORE_SPEECH_MS = 600.0
_KEEP_LATEST_MS = 1000.0
# A broken stream that was taking a turn takes the turn's last seconds with it.
_RECENT_MS = 3000.0


class InputAudio:
    """Position, onset and replay ring of the user's audio, plus whether the upstream has
    heard all of it.

    *Unanswered speech* is voiced audio that reached the upstream after its last sign of
    having heard the user (a user turn, a response starting). An upstream that ends a user
    turn only after a pause of its own holds, for a while after the user stops speaking,
    speech that no event has acknowledged yet: a stream retired in that window takes the
    turn with it unless the audio is replayed.

    The ring keeps at most ``replay_seconds``; trimmed (``trim``, the default), only what a
    replay can ask for: the current utterance (until the model begins its reply:
    ``answered``) and any unanswered speech, each from just before it began, and the
    latest second. In quiet between turns that is a second, not
    ``replay_seconds``, of audio per session. Untrimmed, it keeps all of the last
    ``replay_seconds`` (for a caller that replays whole earlier turns).
    """

    def __init__(
        self,
        rate: int,
        *,
        replay_seconds: float = 10.0,
        encoding: AudioEncoding = "pcm16",
        position_ms: float = 0.0,
        trim: bool = True,
    ) -> None:
        self.rate = rate
        self.encoding: AudioEncoding = encoding
        self.width = width = 2 if encoding == "pcm16" else 1  # bytes a sample
        self.bytes_per_ms = rate * width / 1000
        self.position_ms = position_ms
        self._onset_ms = 0
        self._last_voiced_ms = -1.0
        self._utterance_began = False
        self._quiet_ms = float(_QUIET_MS_FOR_NEW_ONSET)
        self._voiced_run_ms = 0.0
        self._utterance_reported = True
        self._unanswered_ms: float | None = None
        # Where the model last began a reply: the speech before it is answered, and no
        # replay's concern any more.
        self._answered_ms = -1.0
        # The newest audio, contiguous (a bytearray gives its front back cheaply, and holds
        # a second in 32 KB where chunks as objects took three times that): it ends at
        # ``_total`` bytes of audio noted since ``_origin_ms``.
        self._ring = bytearray()
        self._origin_ms = position_ms
        self._total = 0
        self._ring_limit = int(replay_seconds * rate * width)
        self._trim = trim
        self._frame = max(1, rate * _FRAME_MS // 1000)
        self._threshold = _SPEECH_RMS * _SPEECH_RMS * self._frame
        # Audio noted but not measured yet (``note``): its chunks, their size, and where on
        # the timeline the first begins. Measured together, on the first question asked.
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._pending_from = 0.0
        self._pending_limit = int(rate * width * _PENDING_SECONDS)

    def observe(self, pcm: bytes) -> bool:
        """Account for client audio: position, onset estimate, replay ring. True when an
        utterance began in it (or in audio noted before it; ``_VOICED_MS_FOR_SPEECH`` of
        voiced audio after quiet; its start is ``onset_ms``), for an upstream that does not
        say so itself."""
        self.note(pcm)
        return self.settle()

    def note(self, pcm: bytes) -> None:
        """Account for client audio now (position, replay ring) and measure its speech
        later: with the next chunks, on the first question asked of it or by ``settle``. One
        measure per batch instead of per 20 ms chunk."""
        if not self._pending:
            self._pending_from = self.position_ms
        self._pending.append(pcm)
        self._pending_bytes += len(pcm)
        ring = self._ring
        ring += pcm
        self._total += len(pcm)
        self.position_ms += len(pcm) / self.bytes_per_ms
        if self._pending_bytes >= self._pending_limit:
            # Nobody asked for a while: measure, so that what waits stays small.
            self._utterance_began |= self._measure()
        drop = len(ring) - self._ring_limit
        if self._trim:
            drop = max(drop, self._offset(self._keep_from()) - (self._total - len(ring)))
        if drop > 0:
            del ring[: drop - drop % self.width]

    def _keep_from(self) -> float:
        """Where the oldest audio a replay can ask for begins: the latest second, the
        current utterance (voiced within the last 3 s), the unanswered speech and what is
        not measured yet, each less a lead."""
        keep = self.position_ms - _KEEP_LATEST_MS
        voiced = self._last_voiced_ms
        if voiced >= self.position_ms - _RECENT_MS - _FRAME_MS and voiced >= self._answered_ms:
            keep = min(keep, self._onset_ms - _KEEP_BEFORE_SPEECH_MS)
        if self._unanswered_ms is not None:
            keep = min(keep, self._unanswered_ms - _KEEP_BEFORE_SPEECH_MS)
        if self._pending:
            keep = min(keep, self._pending_from - _KEEP_BEFORE_SPEECH_MS)
        return keep

    def settle(self) -> bool:
        """Measure the audio noted so far; True when an utterance began in it (or in audio
        measured since the last ``settle``)."""
        if self._pending:
            self._utterance_began |= self._measure()
        began, self._utterance_began = self._utterance_began, False
        return began

    @property
    def onset_ms(self) -> int:
        self.settle_quietly()
        return self._onset_ms

    @property
    def last_voiced_ms(self) -> float:
        self.settle_quietly()
        return self._last_voiced_ms

    def settle_quietly(self) -> None:
        """Measure what is noted, keeping whether an utterance began for ``settle``."""
        if self._pending:
            self._utterance_began |= self._measure()

    @property
    def measured_quiet_ms(self) -> float:
        """Quiet after the last voiced frame of the audio measured so far (0 when that
        frame ends it; noted audio not measured yet not counted): what a caller deciding
        per chunk can know without measuring."""
        end = self._pending_from if self._pending else self.position_ms
        voiced_end = self._last_voiced_ms + _FRAME_MS if self._last_voiced_ms >= 0 else 0.0
        return end - voiced_end

    @property
    def measured_unanswered(self) -> bool:
        """Whether speech measured so far waits for the upstream's acknowledgement."""
        return self._unanswered_ms is not None

    def _measure(self) -> bool:
        pcm = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        start = self._pending_from
        frame = self._frame
        width = self.width
        usable = len(pcm) // width // frame * frame
        # A part-frame tail waits for the next chunk: frames follow the timeline, not chunks.
        tail = pcm[usable * width :]
        self._pending = [tail] if tail else []
        self._pending_bytes = len(tail)
        self._pending_from = start + usable * width / self.bytes_per_ms
        if not usable:
            return False
        return self._frames(self._samples(pcm, usable), start)

    def _samples(self, audio: bytes, count: int) -> np.ndarray:
        if self.encoding == "pcm16":
            return np.frombuffer(audio, dtype="<i2", count=count)
        decode = g711.ulaw_decode if self.encoding == "g711_ulaw" else g711.alaw_decode
        return decode(audio[:count])

    def _frames(self, samples: np.ndarray, start_ms: float) -> bool:
        began = False
        frame = self._frame
        count = samples.size // frame
        if count:
            # Per 20 ms frame, the sum of squares (exact in float64) against the threshold's:
            # one dot product for the usual one-frame chunk, no per-chunk temporaries.
            if count == 1:
                whole = samples[:frame].astype(np.float64)
                energies = [float(whole @ whole)]
            else:
                grid = samples[: count * frame].reshape(count, frame).astype(np.float64)
                energies = np.einsum("ij,ij->i", grid, grid).tolist()
            threshold = self._threshold
            for index, energy in enumerate(energies):
                at = start_ms + index * _FRAME_MS
                if energy >= threshold:
                    if self._quiet_ms >= _QUIET_MS_FOR_NEW_ONSET:
                        self._onset_ms = int(at)
                        self._utterance_reported = False
                        self._voiced_run_ms = 0.0
                    self._quiet_ms = 0.0
                    self._voiced_run_ms += _FRAME_MS
                    self._last_voiced_ms = at
                    if self._unanswered_ms is None:
                        self._unanswered_ms = at
                    if (
                        not self._utterance_reported
                        and self._voiced_run_ms >= _VOICED_MS_FOR_SPEECH
                    ):
                        self._utterance_reported = began = True
                else:
                    self._quiet_ms += _FRAME_MS
                    self._voiced_run_ms = 0.0
        return began

    def quiet_for_ms(self) -> float:
        """Audio since the last voiced frame (all of it when nothing was voiced yet)."""
        return self.position_ms - max(self.last_voiced_ms, 0.0)

    def speaking_recently(self, within_ms: float = 600.0) -> bool:
        return self.last_voiced_ms >= 0 and self.position_ms - self.last_voiced_ms < within_ms

    def acknowledge(self) -> None:
        """The upstream showed it heard the user up to now (a user turn or a response
        began)."""
        self.settle_quietly()  # speech noted before now was heard with the rest
        self._unanswered_ms = None

    def answered(self) -> None:
        """The model began a reply: the user's speech so far is answered (a new stream
        need not hear it again), and the ring stops keeping the utterance for a replay."""
        self.settle_quietly()
        self._answered_ms = self.position_ms

    def unanswered(self, give_up_ms: float = 5000.0) -> bool:
        """Speech went upstream that it has not acknowledged yet. Speech followed by
        ``give_up_ms`` of audio with no acknowledgement was noise to the upstream (a
        cough, a door), so it no longer counts."""
        self.settle_quietly()
        return (
            self._unanswered_ms is not None and self.position_ms - self.last_voiced_ms < give_up_ms
        )

    def unanswered_audio(self, *, until_ms: float, lead_ms: float = 300.0) -> list[bytes]:
        """The audio from just before the unanswered speech began up to ``until_ms``, to
        replay on a new stream (as much as the ring still holds)."""
        self.settle_quietly()
        if self._unanswered_ms is None:
            return []
        return self._between(self._unanswered_ms - lead_ms, until_ms)

    def recent(self, *, until_ms: float, within_ms: float = _RECENT_MS) -> list[bytes]:
        return self._between(until_ms - within_ms, until_ms)

    def replay(
        self, *, unsent_bytes: int, recovering: bool, turn_open: bool, answering: bool
    ) -> list[bytes]:
        """What a new stream must hear again, for an upstream that acknowledges speech
        late. ``unsent_bytes``: the newest audio counted here that no stream took yet (it
        goes to the new stream anyway). A stream that broke (``recovering``) while it took
        a turn (``turn_open``, or speech in the last 3 s and no reply under way) took the
        turn's last seconds with it; otherwise what must be heard again is the speech it
        never acknowledged."""
        until = self.position_ms - unsent_bytes / self.bytes_per_ms
        if recovering and (turn_open or (self.speaking_recently(_RECENT_MS) and not answering)):
            return self.recent(until_ms=until)
        return self.unanswered_audio(until_ms=until)

    def _offset(self, ms: float) -> int:
        """The byte of the audio noted since the start that ``ms`` falls on (whole samples)."""
        at = int((ms - self._origin_ms) * self.bytes_per_ms)
        return at - at % self.width

    def _between(self, start_ms: float, end_ms: float) -> list[bytes]:
        first = self._total - len(self._ring)
        start = max(self._offset(start_ms), first) - first
        end = min(self._offset(end_ms), self._total) - first
        return [bytes(self._ring[start:end])] if end > start else []

    def clear(self) -> None:
        # The client discarded its buffer: what the upstream already heard is not replayed.
        self.settle_quietly()  # the onset and the quiet before stay as measured
        self._ring.clear()
        self._unanswered_ms = None
