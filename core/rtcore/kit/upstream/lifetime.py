"""When the live upstream stream is due to be replaced, apart from its connection limit's
margin: its age against the rotation point, the time by which the adapter said it must be
gone (``Expires``), and an end the upstream announced (``going_away``).
"""

from __future__ import annotations

# A stream the upstream said will go away (``going_away``) is switched even mid-turn (what
# it had not answered replayed) this long before it goes, or halfway through the notice
# when the notice is shorter.
GOING_AWAY_HURRY_SECONDS = 5.0


class StreamLifetime:
    """One stream's deadlines (monotonic times); a fresh one for each stream."""

    def __init__(self, opened_at: float, retire_at: float | None = None) -> None:
        self.opened_at = opened_at
        # When the stream must be gone by (e.g. before the credentials it was signed with
        # expire).
        self.retire_at = retire_at
        # The announced end: when it was announced and when the stream goes.
        self.warned_at: float | None = None
        self.gone_at: float | None = None

    def announce_end(self, now: float, seconds_left: float) -> None:
        """The upstream said the stream goes in ``seconds_left``; a second notice keeps
        the sooner end."""
        gone_at = now + max(0.0, seconds_left)
        if self.gone_at is None or gone_at < self.gone_at:
            self.warned_at, self.gone_at = now, gone_at

    def rotate_at(self, rotate_after_seconds: float) -> float:
        """When the stream is due for a rotation: its age, the time by which it must be
        gone, or at once once the upstream said it will go away, whichever comes first."""
        due = [self.opened_at + rotate_after_seconds]
        due += [t for t in (self.retire_at, self.warned_at) if t is not None]
        return min(due)

    def retiring(self, now: float) -> bool:
        """The stream is past the time by which it must be gone."""
        return self.retire_at is not None and now >= self.retire_at

    def going(self, now: float) -> bool:
        """The upstream's announced end of the stream is near."""
        if self.gone_at is None or self.warned_at is None:
            return False
        notice = self.gone_at - self.warned_at
        return now >= self.gone_at - min(GOING_AWAY_HURRY_SECONDS, notice / 2)

    def why_rotated(self, now: float) -> str:
        """Why the stream is rotated, for the log."""
        if self.gone_at is not None:
            return "rotated before the upstream goes away, as it announced"
        if self.retiring(now):
            return "rotated before its credentials expire"
        return "rotated before the connection limit"
