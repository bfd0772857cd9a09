"""What waits for a Bedrock stream: kept in order, bounded by dropping the oldest audio only."""

from __future__ import annotations

import logging

import pytest

from rtcore.kit.upstream.backlog import Backlog, Builder


def _builder() -> Builder:
    def build(_writer: object) -> list[bytes]:
        return []

    return build


def test_drains_in_order_and_counts_what_is_left() -> None:
    nudge, speech, text = _builder(), _builder(), _builder()
    backlog = Backlog()
    backlog.hold(nudge, 3200, 0, limit_bytes=10_000)
    backlog.hold(speech, 640, 640, limit_bytes=10_000)
    backlog.hold(text, 0, 0, limit_bytes=10_000)
    assert (backlog.audio, backlog.client_audio) == (3840, 640)
    taken = backlog.drain()
    assert next(taken) is nudge
    assert (backlog.audio, backlog.client_audio) == (640, 640)
    assert list(taken) == [speech, text]
    assert not backlog
    assert (backlog.audio, backlog.client_audio) == (0, 0)


def test_entries_held_while_draining_are_drained_too() -> None:
    first, meanwhile = _builder(), _builder()
    backlog = Backlog()
    backlog.hold(first, 640, 640, limit_bytes=10_000)
    seen = []
    for build in backlog.drain():
        seen.append(build)
        if build is first:
            backlog.hold(meanwhile, 640, 640, limit_bytes=10_000)
    assert seen == [first, meanwhile]


def test_over_the_limit_the_oldest_audio_goes_never_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tool_result, old_audio, text_turn, new_audio = (_builder() for _ in range(4))
    backlog = Backlog()
    backlog.hold(tool_result, 0, 0, limit_bytes=1000)
    backlog.hold(old_audio, 600, 600, limit_bytes=1000)
    backlog.hold(text_turn, 0, 0, limit_bytes=1000)
    assert not caplog.records
    with caplog.at_level(logging.WARNING):
        backlog.hold(new_audio, 600, 600, limit_bytes=1000)
    assert "dropping the oldest held audio" in caplog.text
    assert (backlog.audio, backlog.client_audio) == (600, 600)
    assert list(backlog.drain()) == [tool_result, text_turn, new_audio]
