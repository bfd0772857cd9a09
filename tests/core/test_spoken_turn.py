"""The kit's SpokenTurn: the user's turn for an upstream that reports it late or not at all."""

from __future__ import annotations

from rtcore.kit import SpokenTurn
from rtcore.provider import messages as n


def kinds(events: list[n.Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_a_heard_turn_is_announced_then_stopped_with_its_held_transcript() -> None:
    turn = SpokenTurn()
    started = turn.heard_speech(onset_ms=120)
    assert started == [n.SpeechStarted(item_id=turn.item or "", audio_start_ms=120)]
    assert turn.open
    assert turn.heard
    # Words before the stop wait: the client must see the item before its transcript.
    assert turn.transcript("hello ", onset_ms=120) == []
    assert turn.transcript("there", onset_ms=120) == []
    stopped = turn.stop(900)
    item = turn.item or ""
    assert stopped == [
        n.SpeechStopped(item_id=item, audio_end_ms=900),
        n.InputTranscript(item_id=item, text="hello there", final=False),
    ]
    assert turn.transcript("!", onset_ms=120) == [
        n.InputTranscript(item_id=item, text="!", final=False)
    ]
    assert turn.close(950) == [n.InputTranscript(item_id=item, text="", final=True)]
    assert turn.item is None
    assert not turn.open


def test_the_models_own_answer_stops_the_turn_and_a_second_heard_does_nothing() -> None:
    turn = SpokenTurn()
    turn.heard_speech(onset_ms=0)
    assert turn.heard_speech(onset_ms=50) == []  # the same turn, still being taken
    item = turn.item
    out = turn.answered_by_model(own=True, audio_ms=700)
    assert out == [n.SpeechStopped(item_id=item or "", audio_end_ms=700)]
    assert turn.answered
    assert not turn.open
    # A requested response answering it does not stop it twice.
    assert turn.answered_by_model(own=True, audio_ms=800) == []


def test_speech_after_an_answer_closes_that_turn_and_opens_another() -> None:
    turn = SpokenTurn()
    turn.heard_speech(onset_ms=0)
    first = turn.item
    turn.answered_by_model(own=True, audio_ms=500)
    turn.at_ms = 1500
    out = turn.heard_speech(onset_ms=1400)
    assert kinds(out) == ["InputTranscript", "SpeechStarted"]
    assert out[0] == n.InputTranscript(item_id=first or "", text="", final=True)
    assert turn.item != first
    assert turn.open


def test_measured_speech_is_unconfirmed_until_heard_or_dropped_as_noise() -> None:
    turn = SpokenTurn()
    out = turn.measured(onset_ms=200)
    assert kinds(out) == ["SpeechStarted"]
    assert turn.awaiting_confirmation
    assert not turn.heard  # the session measured it; the upstream has not heard it
    assert turn.drop_unconfirmed(5200) == [
        n.SpeechStopped(item_id=out[0].item_id, audio_end_ms=5200),  # type: ignore[attr-defined]
        n.InputTranscript(item_id=out[0].item_id, text="", final=True),  # type: ignore[attr-defined]
    ]
    assert turn.item is None
    turn.measured(onset_ms=6000)
    assert turn.transcript("yes", onset_ms=6000) == []  # the upstream took it: confirmed
    assert not turn.awaiting_confirmation
    assert turn.drop_unconfirmed(9000) == []


def test_measured_speech_is_noise_once_quiet_outlasts_any_end_of_turn_pause() -> None:
    turn = SpokenTurn()
    started = turn.measured(onset_ms=0)[0]
    assert turn.drop_if_noise(4999.0, audio_ms=5400) == []  # the upstream may still take it
    assert turn.drop_if_noise(5000.0, audio_ms=5400) == [
        n.SpeechStopped(item_id=started.item_id, audio_end_ms=5400),  # type: ignore[attr-defined]
        n.InputTranscript(item_id=started.item_id, text="", final=True),  # type: ignore[attr-defined]
    ]
    # A session that asked for 4 s of end-of-speech silence waits 3 s past it.
    turn.measured(onset_ms=10000)
    assert turn.drop_if_noise(6000.0, audio_ms=16400, silence_ms=4000) == []
    assert kinds(turn.drop_if_noise(7000.0, audio_ms=17400, silence_ms=4000)) == [
        "SpeechStopped",
        "InputTranscript",
    ]
    # Speech the upstream took is no one's to drop.
    turn.measured(onset_ms=20000)
    turn.heard_speech(onset_ms=20000)
    assert turn.drop_if_noise(60000.0, audio_ms=80000) == []


def test_push_to_talk_sends_no_speech_events_and_names_the_committed_item() -> None:
    turn = SpokenTurn()
    turn.manual = True
    assert turn.measured(onset_ms=0) == []
    turn.committed_item = "item_commit"
    # Answered before any transcript: the committed item is the turn answered.
    assert turn.answered_by_model(own=False, audio_ms=300) == []
    assert turn.item == "item_commit"
    assert turn.answered
    assert turn.close() == [n.InputTranscript(item_id="item_commit", text="", final=True)]
    turn.committed_item = "item_next"
    assert turn.transcript("hi", onset_ms=0) == [
        n.InputTranscript(item_id="item_next", text="hi", final=False)
    ]


def test_close_without_a_position_ends_where_the_audio_is() -> None:
    turn = SpokenTurn()
    turn.heard_speech(onset_ms=0)
    turn.at_ms = 4321
    out = turn.close()
    assert out[0] == n.SpeechStopped(item_id=out[0].item_id, audio_end_ms=4321)  # type: ignore[attr-defined]
    assert turn.close() == []


def test_words_given_whole_at_the_close_are_its_final_transcript() -> None:
    turn = SpokenTurn()
    turn.heard_speech(onset_ms=100)
    item = turn.item or ""
    assert turn.close(800, text="hello there") == [
        n.SpeechStopped(item_id=item, audio_end_ms=800),
        n.InputTranscript(item_id=item, text="hello there", final=True),
    ]
    turn.manual = True
    turn.heard_speech(onset_ms=900)
    item = turn.item or ""
    assert turn.close(1500, text="yes") == [n.InputTranscript(item_id=item, text="yes", final=True)]


def test_a_commit_names_the_turn_being_taken_or_else_the_next() -> None:
    turn = SpokenTurn()
    turn.manual = True
    turn.heard_speech(onset_ms=0)
    turn.commit("item_ptt")  # the turn already being taken is the committed audio
    assert turn.item == "item_ptt"
    assert turn.committed_item is None
    assert turn.close(600) == [n.InputTranscript(item_id="item_ptt", text="", final=True)]
    turn.commit("item_next")  # no turn open: the next one is the item
    assert turn.item is None
    turn.heard_speech(onset_ms=700)
    assert turn.item == "item_next"
