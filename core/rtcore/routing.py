"""Which deployment of a model name a session opens on, and which next if that fails.

LiteLLM's router picks a deployment per request; a realtime session is bound to one
upstream at a time, so rtcore picks when the session opens, fails over to the next
deployment if the first cannot open (before the client is told the session exists, so none
of its audio is lost), and again whenever the upstream fails mid-session (``failover``). A
deployment that failed is passed over for the cooldown, unless every deployment is cooling
down.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

from rtcore.config_sections import Routing
from rtcore.provider import ModelConfig


class Router:
    def __init__(self, routing: Routing | None = None) -> None:
        self.routing = routing if routing is not None else Routing()
        self._busy: dict[str, int] = {}
        self._cool_until: dict[str, float] = {}

    def candidates(
        self, deployments: Sequence[ModelConfig], *, limit: bool = True
    ) -> list[ModelConfig]:
        """The deployments to try, in order: by ``order`` (lowest first), within one
        order by the strategy; those cooling down last. ``limit``: as many as
        ``num_retries`` allows."""
        if len(deployments) == 1:
            return list(deployments)
        now = time.monotonic()
        shuffled = random.sample(list(deployments), len(deployments))
        least_busy = self.routing.strategy == "least-busy"

        def rank(m: ModelConfig) -> tuple[bool, float, int]:
            cooling = self._cool_until.get(m.deployment_id, 0.0) > now
            order = m.order if m.order is not None else float("inf")
            return cooling, order, self._busy.get(m.deployment_id, 0) if least_busy else 0

        ordered = sorted(shuffled, key=rank)  # stable: ties keep the shuffle
        retries = self.routing.num_retries
        return ordered if retries is None or not limit else ordered[: retries + 1]

    def cooling(self, deployment: ModelConfig) -> bool:
        """The deployment failed lately and is passed over until its cooldown ends."""
        return self._cool_until.get(deployment.deployment_id, 0.0) > time.monotonic()

    def failed(self, deployment: ModelConfig) -> None:
        if self.routing.cooldown_seconds > 0:
            until = time.monotonic() + self.routing.cooldown_seconds
            self._cool_until[deployment.deployment_id] = until

    def opened(self, deployment: ModelConfig) -> None:
        self._cool_until.pop(deployment.deployment_id, None)
        self._busy[deployment.deployment_id] = self._busy.get(deployment.deployment_id, 0) + 1

    def closed(self, deployment: ModelConfig) -> None:
        key = deployment.deployment_id
        self._busy[key] = max(0, self._busy.get(key, 0) - 1)
