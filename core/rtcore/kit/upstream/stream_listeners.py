"""Upstream streams as providers report them, for whoever counts them.

The supervisor reports each stream it opens here and knows nothing of who listens; the
service's metrics subscribe when they are loaded. In the kit, so that the kit depends on
nothing outside it.
"""

from __future__ import annotations

from collections.abc import Callable

# Called with why a stream opened: opened, rotated, recovered, restarted.
StreamListener = Callable[[str], None]
# Called when a stream replaced the session's live one: why, and how long the session
# waited for it (seconds).
SwitchListener = Callable[[str, float], None]

_listeners: list[StreamListener] = []
_switch_listeners: list[SwitchListener] = []


def on_stream_opened(listener: StreamListener) -> None:
    """Call ``listener`` for every upstream stream a provider opens from now on."""
    if listener not in _listeners:
        _listeners.append(listener)


def stream_opened(reason: str) -> None:
    for listener in _listeners:
        listener(reason)


def on_stream_switched(listener: SwitchListener) -> None:
    """Call ``listener`` for every stream that replaces a session's live one from now on."""
    if listener not in _switch_listeners:
        _switch_listeners.append(listener)


def stream_switched(reason: str, gap_seconds: float) -> None:
    for listener in _switch_listeners:
        listener(reason, gap_seconds)
