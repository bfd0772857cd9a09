"""How long the supervisor waits between attempts to open a stream, and when it gives up.

A broken connection is retried a few times with jittered exponential backoff; a throttled
open (``THROTTLED``: a quota per second or per account) is worth waiting for longer, on a
schedule of its own.
"""

from __future__ import annotations

import random

from rtcore.kit.upstream.adapter import THROTTLED, SupervisorPolicy, UpstreamFailure


class OpenBackoff:
    """The pauses of one run of attempts to open a stream (a fresh one for each run)."""

    def __init__(self, policy: SupervisorPolicy) -> None:
        self._policy = policy
        self._delay = policy.backoff_initial_seconds
        self._attempts = 0
        self._throttled = 0
        self._waited = 0.0

    def pause_after(self, failure: UpstreamFailure) -> float:
        """Seconds to wait before the next attempt after ``failure``; raises the failure
        (or, throttled too long, one that says so) when another attempt cannot help."""
        policy = self._policy
        self._attempts += 1
        throttled = failure.code == THROTTLED
        if throttled:
            self._throttled += 1
            if self._throttled >= policy.throttle_attempts:
                raise UpstreamFailure(
                    failure.code,
                    f"{failure.message} (still throttled after {self._throttled} attempts "
                    f"over {self._waited:.0f} s; retry in a minute)",
                    retryable=False,
                ) from failure
            self._delay = min(
                policy.throttle_backoff_max_seconds,
                policy.throttle_backoff_initial_seconds * 2 ** (self._throttled - 1),
            )
        elif not failure.retryable or self._attempts >= max(1, policy.max_open_attempts):
            raise failure
        pause = self._delay * (0.75 + random.random() / 2)
        self._waited += pause
        if not throttled:
            self._delay = min(self._delay * 2, policy.backoff_max_seconds)
        return pause
