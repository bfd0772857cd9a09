"""Which deployment of a model name a session opens on, and which next if that fails.

LiteLLM's router picks a deployment per request; a realtime session is bound to one
upstream at a time, so rtcore picks when the session opens, fails over to the next
deployment if the first cannot open (before the client is told the session exists, so none
of its audio is lost), and again whenever the upstream fails mid-session (``failover``). A
deployment that failed is passed over for the cooldown, unless every deployment is cooling
down.

Cooldowns are this process's own, unless ``shared`` is set (the key store's database, where
there is one): then a deployment that failed in any process sharing it is passed over here
too, as soon as this process's view of the shared cooldowns is refreshed. Reading that view
never waits on the database, so routing goes on as it is while the database is down.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Sequence
from typing import Protocol

from rtcore.config.sections import Routing
from rtcore.provider import ModelConfig


class SharedCooldowns(Protocol):
    """Cooldowns several processes share. Every call returns at once: the view is refreshed
    and what is reported is written in the background. Times are ``time.time()``'s (wall
    clock, comparable between hosts), not ``time.monotonic()``'s."""

    def until(self, deployment_id: str) -> float:
        """When the deployment's shared cooldown ends (0: it has none)."""
        ...

    def failed(self, deployment_id: str, until: float) -> None:
        """The deployment failed here: passed over everywhere until ``until``."""
        ...

    def opened(self, deployment_id: str) -> None:
        """The deployment opened a session here: its cooldown, as known now, is over."""
        ...


class Router:
    def __init__(self, routing: Routing | None = None) -> None:
        self.routing = routing if routing is not None else Routing()
        self._busy: dict[str, int] = {}
        # When each deployment opened its sessions of the last minute (its rpm limit).
        self._opens: dict[str, deque[float]] = {}
        self._cool_until: dict[str, float] = {}
        self.shared: SharedCooldowns | None = None

    def candidates(
        self, deployments: Sequence[ModelConfig], *, limit: bool = True
    ) -> list[ModelConfig]:
        """The deployments to try, in order: by ``order`` (lowest first), within one
        order by the strategy; those cooling down last. ``limit``: as many as
        ``num_retries`` allows."""
        deployments = [m for m in deployments if self.has_room(m)]
        if len(deployments) <= 1:
            return list(deployments)
        now = time.monotonic()
        shuffled = random.sample(list(deployments), len(deployments))
        least_busy = self.routing.strategy == "least-busy"

        wall = time.time()

        def rank(m: ModelConfig) -> tuple[bool, float, int]:
            cooling = self._cools(m.deployment_id, now, wall)
            order = m.order if m.order is not None else float("inf")
            return cooling, order, self._busy.get(m.deployment_id, 0) if least_busy else 0

        ordered = sorted(shuffled, key=rank)  # stable: ties keep the shuffle
        retries = self.routing.num_retries
        return ordered if retries is None or not limit else ordered[: retries + 1]

    def has_room(self, deployment: ModelConfig) -> bool:
        """Another session may open on the deployment now: it is under its limits of
        sessions at once and sessions opened in the last minute (in this process)."""
        limits = deployment.limits
        key = deployment.deployment_id
        if limits.max_sessions is not None and self._busy.get(key, 0) >= limits.max_sessions:
            return False
        if limits.sessions_per_minute is None:
            return True
        opens = self._opens.get(key)
        if opens is None:
            return True
        cutoff = time.monotonic() - 60.0
        while opens and opens[0] <= cutoff:
            opens.popleft()
        return len(opens) < limits.sessions_per_minute

    def cooling(self, deployment: ModelConfig) -> bool:
        """The deployment failed lately and is passed over until its cooldown ends."""
        return self._cools(deployment.deployment_id, time.monotonic(), time.time())

    def _cools(self, deployment_id: str, now: float, wall: float) -> bool:
        if self._cool_until.get(deployment_id, 0.0) > now:
            return True
        return self.shared is not None and self.shared.until(deployment_id) > wall

    def failed(self, deployment: ModelConfig) -> None:
        if self.routing.cooldown_seconds > 0:
            until = time.monotonic() + self.routing.cooldown_seconds
            self._cool_until[deployment.deployment_id] = until
            if self.shared is not None:
                self.shared.failed(
                    deployment.deployment_id, time.time() + self.routing.cooldown_seconds
                )

    def opened(self, deployment: ModelConfig) -> None:
        self._cool_until.pop(deployment.deployment_id, None)
        if self.shared is not None:
            self.shared.opened(deployment.deployment_id)
        self._busy[deployment.deployment_id] = self._busy.get(deployment.deployment_id, 0) + 1
        if deployment.limits.sessions_per_minute is not None:
            self._opens.setdefault(deployment.deployment_id, deque()).append(time.monotonic())

    def closed(self, deployment: ModelConfig) -> None:
        key = deployment.deployment_id
        self._busy[key] = max(0, self._busy.get(key, 0) - 1)
