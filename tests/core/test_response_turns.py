"""The kit's ResponseTurns: responses for a model whose output comes in turns, one at a time."""

from __future__ import annotations

from rtcore.kit import ResponseTurns
from rtcore.provider import messages as n

USAGE = n.Usage(output_audio_tokens=7)


def create(response_id: str) -> n.CreateResponse:
    return n.CreateResponse(response_id=response_id)


def test_the_models_own_turn_is_announced_before_its_output() -> None:
    turns = ResponseTurns(("audio",))
    assert not turns.responding
    out = turns.start(("audio", "text"))
    assert len(out) == 1
    assert isinstance(out[0], n.ResponseStarted)
    assert turns.current == out[0].response_id
    assert turns.modalities == ("audio", "text")
    done = turns.finish("completed", None, USAGE)
    assert done == n.ResponseDone(response_id=out[0].response_id, usage=USAGE)
    assert turns.current is None
    assert turns.ledger.active is None


def test_a_request_streams_at_once_or_waits_for_the_turns_end() -> None:
    turns = ResponseTurns(("audio",))
    assert not turns.responding
    assert turns.request(create("resp_a"), ("text",))
    assert turns.responding  # asked for: active before the model's turn begins
    assert turns.current is None
    assert turns.start(("audio",)) == []  # the requested one: no announcement
    assert turns.current == "resp_a"
    assert turns.modalities == ("text",)
    assert not turns.request(create("resp_b"), ("audio",))  # waits
    assert turns.take_activated() == []
    turns.finish("completed", None, USAGE)
    activated = turns.take_activated()
    assert [r.id for r in activated] == ["resp_b"]
    assert turns.take_activated() == []
    assert turns.responding  # resp_b, its turn not begun
    turns.finish("completed", None, USAGE)  # ended before any output: it is the active one
    assert not turns.responding


def test_cancelling_the_streaming_response_drops_the_rest_of_its_turn() -> None:
    turns = ResponseTurns(("audio",))
    turns.request(create("resp_a"), ("audio",))
    turns.start(("audio",))
    turns.request(create("resp_b"), ("audio",))
    events, generating = turns.cancel("resp_a")
    assert generating
    assert events == [
        n.ResponseDone(response_id="resp_a", status="cancelled", reason="client_cancelled")
    ]
    assert turns.discarding
    assert turns.current is None
    assert [r.id for r in turns.take_activated()] == ["resp_b"]
    turns.turn_ended()
    assert not turns.discarding
    # A waiting one is cancelled without touching the model's turn; unknown ids do nothing.
    turns.request(create("resp_c"), ("audio",))
    assert turns.cancel("resp_c")[1] is False
    assert turns.cancel("resp_zzz") == ([], False)


def test_a_broken_upstream_fails_everything_open_once() -> None:
    turns = ResponseTurns(("audio",))
    turns.request(create("resp_a"), ("audio",))
    turns.start(("audio",))
    turns.request(create("resp_b"), ("audio",))
    error = n.ResponseError(code="server_error", message="gone")
    out = turns.fail(error)
    assert [(e.response_id, e.status) for e in out] == [  # type: ignore[attr-defined]
        ("resp_a", "failed"),
        ("resp_b", "failed"),
    ]
    assert all(e.error == error for e in out)  # type: ignore[attr-defined]
    assert turns.take_activated() == []
    assert turns.fail(error) == []


def test_closing_cancels_with_the_usage_so_far() -> None:
    turns = ResponseTurns(("audio",))
    own = turns.start(("audio",))[0]
    assert turns.responding
    out = turns.close(USAGE)
    assert out == [
        n.ResponseDone(response_id=own.response_id, status="cancelled", usage=USAGE)  # type: ignore[attr-defined]
    ]
