"""Where Gemini's next connection starts: the latest handle, or afresh once the
conversation changed in a way Gemini's context cannot follow."""

from __future__ import annotations

from types import SimpleNamespace

from rtcore_gemini_live.resumption import Resumption, seconds_left


def update(handle: str, *, resumable: bool = True) -> SimpleNamespace:
    change = SimpleNamespace(resumable=resumable, new_handle=handle)
    return SimpleNamespace(session_resumption_update=change, go_away=None)


def test_a_connection_resumes_from_the_latest_resumable_handle() -> None:
    resumption = Resumption()
    assert resumption.opening() == (None, 0)  # nothing to resume yet
    assert resumption.note(update("h1")) is None
    assert resumption.note(update("h2", resumable=False)) is None  # mid-turn: not resumable
    assert resumption.opening()[0] == "h1"
    away = SimpleNamespace(session_resumption_update=None, go_away=SimpleNamespace(time_left="50s"))
    assert resumption.note(away) == 50.0
    assert seconds_left(None) == 0.0


def test_a_reseed_asked_while_a_connection_opens_is_the_next_ones() -> None:
    resumption = Resumption()
    resumption.note(update("h1"))
    handle, ticket = resumption.opening()
    assert handle == "h1"
    resumption.reseed()  # a cancel while that connection was opening
    resumption.opened(ticket, fresh=False)
    assert resumption.opening()[0] is None  # not lost: the next connection starts afresh


def test_a_fresh_connection_forgets_the_old_sessions_handle() -> None:
    resumption = Resumption()
    resumption.note(update("h1"))
    resumption.reseed()
    handle, ticket = resumption.opening()
    assert handle is None
    resumption.opened(ticket, fresh=True)
    # Until the new session gives a handle, a recovery seeds again rather than bringing
    # back the context the reseed dropped.
    assert resumption.opening()[0] is None
    resumption.note(update("h2"))
    assert resumption.opening()[0] == "h2"
