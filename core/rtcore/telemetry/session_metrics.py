"""One session's contribution to the service's metrics, kept by its connection.

Audio is counted by the session's meter in integers on the audio path; this adds the
seconds to the shared counters at each response's end and at the session's, so a long
session shows on the dashboards before it is over.
"""

from __future__ import annotations

import time

from rtcore.keys.usage import Meter
from rtcore.telemetry.metrics import enabled, metrics, upstream_error


class SessionMetrics:
    def __init__(self, model: str, meter: Meter) -> None:
        self.model = model
        self._meter = meter
        self._all = metrics()
        self._active = self._all.sessions_active.labels(model)
        self._audio_in = self._all.audio_seconds.labels(model, "in")
        self._audio_out = self._all.audio_seconds.labels(model, "out")
        self._reported_in = self._reported_out = 0.0
        # When the user's turn ended and no reply audio has come since (monotonic).
        self._turn_ended_at: float | None = None
        self._started = time.monotonic()

    def opened(self) -> None:
        self._active.inc()

    def turn_ended(self) -> None:
        if self._turn_ended_at is None:
            self._turn_ended_at = time.monotonic()

    def audio_out(self) -> None:
        """A reply's audio arrived: the first since the turn ended is timed."""
        if self._turn_ended_at is not None:
            waited = time.monotonic() - self._turn_ended_at
            self._turn_ended_at = None
            self._all.time_to_first_audio.labels(self.model).observe(waited)

    def response_done(self, status: str) -> None:
        self._all.responses.labels(self.model, status).inc()
        # A response that ended with no audio (text, a tool call, cancelled) leaves
        # nothing to time.
        self._turn_ended_at = None
        self.add_audio()

    def upstream_error(self, code: str) -> None:
        upstream_error(self.model, code)

    def add_audio(self) -> None:
        meter = self._meter
        heard = meter.seconds_in
        spoken = meter.seconds_out
        if heard > self._reported_in:
            self._audio_in.inc(heard - self._reported_in)
            self._reported_in = heard
        if spoken > self._reported_out:
            self._audio_out.inc(spoken - self._reported_out)
            self._reported_out = spoken

    def closed(self, end_reason: str) -> None:
        self.add_audio()
        self._active.dec()
        self._all.sessions.labels(self.model, end_reason).inc()
        self._all.session_seconds.labels(self.model).observe(time.monotonic() - self._started)


class Uncounted(SessionMetrics):
    """A session of a server started with ``--no-metrics``: nothing is counted."""

    def __init__(self, model: str, meter: Meter) -> None:
        self.model = model

    def opened(self) -> None:
        pass

    def turn_ended(self) -> None:
        pass

    def audio_out(self) -> None:
        pass

    def response_done(self, status: str) -> None:
        pass

    def upstream_error(self, code: str) -> None:
        pass

    def add_audio(self) -> None:
        pass

    def closed(self, end_reason: str) -> None:
        pass


def session_metrics(model: str, meter: Meter) -> SessionMetrics:
    return SessionMetrics(model, meter) if enabled() else Uncounted(model, meter)
