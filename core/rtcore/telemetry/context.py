"""The session a piece of work belongs to, carried by a context variable.

``Gateway.connect`` tags the session; every task started inside it (the provider's readers,
its stream supervisor) inherits the tag, so log lines and metrics about a session name it
without being handed it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import msgspec


class SessionTag(msgspec.Struct, frozen=True, kw_only=True):
    """``session_id`` is the id the client sees in ``session.created``; ``model`` the
    configured model name it asked for; ``key_alias`` the virtual key's alias, if any."""

    session_id: str
    model: str
    key_alias: str | None = None
    # The deployment serving the session now (it changes when the session fails over).
    deployment: str = ""


_CURRENT: contextvars.ContextVar[SessionTag | None] = contextvars.ContextVar(
    "rtcore_session", default=None
)


def current() -> SessionTag | None:
    return _CURRENT.get()


def retag(tag: SessionTag) -> None:
    """The session's tag from now on, for the calling task and those it starts later."""
    _CURRENT.set(tag)


@contextlib.contextmanager
def tagged(tag: SessionTag) -> Iterator[None]:
    token = _CURRENT.set(tag)
    try:
        yield
    finally:
        _CURRENT.reset(token)
