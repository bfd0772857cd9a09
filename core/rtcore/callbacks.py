"""Logging callbacks: what LiteLLM's ``litellm_settings.callbacks`` names (``otel``,
``langfuse``, ...), served by plugins.

A plugin registers a callback by name (``rtcore_register_callbacks``); a config that names
it turns it on. ``open`` is entered once in every serving process (each ``--workers``
worker too), when serving starts, and exited after its last session ended; what it yields
is handed each session's record as the session ends, never on the audio path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from rtcore.keys.usage import SessionRecord
    from rtcore.serve_settings import ServeSettings

# Called with every session's record when it ends; may return an awaitable.
type SessionSink = Callable[[SessionRecord], Awaitable[None] | None]


class CallbackSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Registers a callback: ``name`` as a config names it, ``open`` its lifetime in one
    serving process (raise ``ServeError`` when it cannot run as configured)."""

    name: str
    open: Callable[[ServeSettings], AbstractAsyncContextManager[SessionSink]]
    description: str = ""
