"""The service's Prometheus metrics (``GET /metrics``).

Labels have bounded cardinality: the configured model name, an end reason or error code
(a fixed vocabulary of the core and its providers), a direction, a status. Nothing is
counted per audio chunk: sessions count audio in integers as they run, and add it here at
each response's end and at the session's.

With ``rtcore serve --workers N`` every worker writes its figures to files in one
directory (prometheus-client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``), and
whichever worker answers ``/metrics`` reports the sum of all of them. prometheus-client
fixes its mode when it is first imported, so it is imported on first use (in a worker,
once the parent has set the directory), not when this module is.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, NamedTuple

from rtcore.kit.upstream import stream_listeners as upstream
from rtcore.telemetry.context import current
from rtcore.telemetry.metrics_env import MULTIPROC_ENV

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram


class Family(NamedTuple):
    """One metric family as prometheus-client takes it (name, help, label names), so that
    the families are read as one table rather than from inside a constructor."""

    name: str
    documentation: str
    labelnames: tuple[str, ...]


SESSIONS_ACTIVE = Family("rtcore_sessions_active", "Sessions open now.", ("model",))
SESSIONS = Family(
    "rtcore_sessions",
    "Sessions ended, by what ended them (client_closed, or the error code).",
    ("model", "end_reason"),
)
SESSION_SECONDS = Family("rtcore_session_duration_seconds", "How long sessions lasted.", ("model",))
AUDIO_SECONDS = Family(
    "rtcore_audio_seconds",
    "Seconds of audio the model heard (in) and spoke (out).",
    ("model", "direction"),
)
RESPONSES = Family(
    "rtcore_responses",
    "Responses the model finished, by status (completed, cancelled, incomplete, failed).",
    ("model", "status"),
)
TIME_TO_FIRST_AUDIO = Family(
    "rtcore_time_to_first_audio_seconds",
    "From the end of the user's turn (speech stopped, commit, response.create) to "
    "the reply's first audio.",
    ("model",),
)
UPSTREAM_ERRORS = Family(
    "rtcore_upstream_errors", "Errors from the model's service, by code.", ("model", "code")
)
UPSTREAM_STREAMS = Family(
    "rtcore_upstream_streams",
    "Upstream streams opened, by why: opened (a session's first), rotated (before a "
    "limit), recovered (after a failure), restarted (for new settings).",
    ("model", "reason"),
)
UPSTREAM_SWITCHES = Family(
    "rtcore_upstream_switches",
    "Sessions moved to a new upstream mid-session, by why (rotated, recovered, "
    "restarted: a new stream of the same deployment; failover, failback: another "
    "deployment) and between which deployments.",
    ("model", "reason", "from", "to"),
)
SWITCH_GAP = Family(
    "rtcore_upstream_switch_gap_seconds",
    "How long a session waited for its new upstream at a switch (what the client "
    "sent meanwhile was held, then sent).",
    ("reason",),
)
REFUSALS = Family(
    "rtcore_refusals",
    "Sessions refused before they began (HTTP status at the handshake), by error code.",
    ("code",),
)
# Histogram buckets, in seconds: sessions last up to their hour; first audio and switch
# gaps are sub-second when all is well, and the tail shows when it is not.
SESSION_SECONDS_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 2700, 3600)
FIRST_AUDIO_BUCKETS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
SWITCH_GAP_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.sessions_active: Gauge = Gauge(*SESSIONS_ACTIVE, multiprocess_mode="livesum")
        self.sessions: Counter = Counter(*SESSIONS)
        self.session_seconds: Histogram = Histogram(
            *SESSION_SECONDS, buckets=SESSION_SECONDS_BUCKETS
        )
        self.audio_seconds: Counter = Counter(*AUDIO_SECONDS)
        self.responses: Counter = Counter(*RESPONSES)
        self.time_to_first_audio: Histogram = Histogram(
            *TIME_TO_FIRST_AUDIO, buckets=FIRST_AUDIO_BUCKETS
        )
        self.upstream_errors: Counter = Counter(*UPSTREAM_ERRORS)
        self.upstream_streams: Counter = Counter(*UPSTREAM_STREAMS)
        self.upstream_switches: Counter = Counter(*UPSTREAM_SWITCHES)
        self.switch_gap: Histogram = Histogram(*SWITCH_GAP, buckets=SWITCH_GAP_BUCKETS)
        self.refusals: Counter = Counter(*REFUSALS)


@functools.cache
def metrics() -> Metrics:
    return Metrics()


# ``rtcore serve --no-metrics`` turns counting off for the process (and /metrics with it).
_enabled = True


def enabled() -> bool:
    return _enabled


def disable() -> None:
    global _enabled
    _enabled = False


def stream_opened(reason: str) -> None:
    """Count an upstream stream of the current session (reported by a provider through
    ``rtcore.kit.upstream.stream_listeners``)."""
    if _enabled:
        tag = current()
        metrics().upstream_streams.labels(tag.model if tag else "", reason).inc()


def upstream_switched(model: str, reason: str, old: str, new: str, gap: float) -> None:
    if _enabled:
        metrics().upstream_switches.labels(model, reason, old, new).inc()
        metrics().switch_gap.labels(reason).observe(gap)


def stream_switched(reason: str, gap: float) -> None:
    """A provider replaced the current session's stream (reported through
    ``rtcore.kit.upstream.stream_listeners``): a switch within one deployment."""
    tag = current()
    deployment = tag.deployment if tag else ""
    upstream_switched(tag.model if tag else "", reason, deployment, deployment, gap)


def upstream_error(model: str, code: str) -> None:
    if _enabled:
        metrics().upstream_errors.labels(model, code).inc()


def refused(code: str) -> None:
    if _enabled:
        metrics().refusals.labels(code).inc()


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def exposition() -> tuple[bytes, str]:
    """The text ``/metrics`` serves, and its content type."""
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        REGISTRY,
        CollectorRegistry,
        generate_latest,
        multiprocess,
    )

    metrics()  # every family shows, at zero, before its first sample
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


def process_gone(pid: int) -> None:
    """A worker ended: its live gauges no longer count (multiprocess mode)."""
    if multiprocess_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


# The provider kit reports upstream streams through a neutral hook, not to this module.
upstream.on_stream_opened(stream_opened)
upstream.on_stream_switched(stream_switched)
