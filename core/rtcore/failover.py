"""Moving a live session to another deployment: which failures call for it, where it goes,
and what the new upstream must be told.

A session is routed once when it opens (``routing``); when its upstream then fails beyond
the provider's own retries (a fatal ``ProviderError``: throttled for good, out of quota,
unreachable, retired, broken again and again, stalled), the connection moves it to the next
healthy deployment of its model name, then of the model names ``router_settings.fallbacks``
lists for it, on whatever provider serves them. The core owns the conversation, so the new
upstream is given all of it, as items a client would add.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from rtcore.provider import Capabilities, ModelConfig, Provider
from rtcore.provider.messages import ProviderError
from rtcore.routing import Router
from rtcore.session.settings import OPENAI_VOICES

log = logging.getLogger(__name__)

# Failures of the client's own doing, or of the gateway's: another deployment would end the
# session the same way, so none is tried.
NOT_FAILED_OVER = frozenset(
    {
        "budget_exceeded",
        "session_expired",
        "server_shutting_down",
        "content_policy_violation",
        "content_filter",
    }
)
_CLIENT_FAULTS = ("invalid_", "unsupported_", "unknown_parameter")


def fails_over(error: ProviderError) -> bool:
    """Whether the failure that ends a session upstream is one another deployment may not
    suffer (anything but the client's own request, its budget and the gateway's limits)."""
    return (
        error.fatal
        and error.code not in NOT_FAILED_OVER
        and not error.code.startswith(_CLIENT_FAULTS)
    )


class Deployments:
    """Where one session may run: its model name's deployments, then those of its
    fallbacks, in the router's order (cooling ones last). ``preferred`` is where the
    session opened first; with ``failback`` it returns there once that is healthy again."""

    def __init__(
        self,
        router: Router,
        groups: Sequence[Sequence[ModelConfig]],
        provider_for: Callable[[ModelConfig], Provider],
        *,
        failback: bool = False,
    ) -> None:
        self.router = router
        self._groups = [list(g) for g in groups if g]
        self.provider_for = provider_for
        self.failback = failback

    @property
    def several(self) -> bool:
        return sum(len(g) for g in self._groups) > 1

    def room(self) -> bool:
        """Some deployment can take a new session now (under its limits)."""
        return any(self.router.has_room(m) for g in self._groups for m in g)

    def ranked(self, exclude: ModelConfig | None = None) -> list[ModelConfig]:
        """Every deployment but ``exclude``: each group in the router's order, groups in
        the fallbacks' order, and those cooling down after all that are not."""
        out: list[ModelConfig] = []
        for group in self._groups:
            out += [m for m in self.router.candidates(group, limit=False) if m is not exclude]
        return sorted(out, key=self.router.cooling)  # stable: the order above within each

    def first(self) -> list[ModelConfig]:
        """Where a new session tries to open, in order (``num_retries`` applies)."""
        first = self.router.candidates(self._groups[0])
        rest = [m for g in self._groups[1:] for m in self.router.candidates(g)]
        return first + rest


def voice_for(
    voice: str | None, custom: bool, caps: Capabilities, info: Mapping[str, object]
) -> str | None:
    """The voice a session keeps on a deployment with ``caps``: the deployment's
    ``model_info.voice_map`` entry for it, else the same voice when the model has it,
    else the model's default (logged)."""
    voice_map = info.get("voice_map")
    if voice is not None and isinstance(voice_map, Mapping):
        mapped = voice_map.get(voice)
        if isinstance(mapped, str):
            return mapped
    if voice is None or custom:
        return caps.default_voice
    if caps.normalize_voice is not None:
        try:
            return caps.normalize_voice(voice)
        except ValueError:
            pass
    elif voice in caps.voices or (not caps.voices and voice in OPENAI_VOICES):
        # A model that lists no voices takes any name: only OpenAI's are safe to keep.
        return voice
    log.info(
        "voice %r is not one of the new model's; using its default %r (map it with "
        "model_info.voice_map)",
        voice,
        caps.default_voice,
    )
    return caps.default_voice
