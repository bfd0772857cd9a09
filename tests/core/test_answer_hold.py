"""The kit's AnswerHold: a model's own answer, kept back until a CreateResponse claims it."""

from __future__ import annotations

from rtcore.kit import AnswerHold
from rtcore.provider import messages as n


def fed(hold: AnswerHold, *events: n.Event) -> list[n.Event]:
    return [out for event in events for out in hold.feed(event)]


def test_disabled_it_passes_everything() -> None:
    hold = AnswerHold()
    events = [n.ResponseStarted(response_id="own"), n.TextDelta(response_id="own", text="hi")]
    assert fed(hold, *events) == events


def test_claimed_mid_answer_the_rest_follows_under_the_cores_id() -> None:
    hold = AnswerHold()
    hold.enabled = True
    seen = fed(hold, n.ResponseStarted(response_id="own"), n.TextDelta(response_id="own", text="a"))
    assert seen == []
    assert hold.has_answer
    assert hold.claim("resp_core") == [n.TextDelta(response_id="resp_core", text="a")]
    assert hold.model_id("resp_core") == "own"
    rest = fed(hold, n.TextDelta(response_id="own", text="b"), n.ResponseDone(response_id="own"))
    assert rest == [
        n.TextDelta(response_id="resp_core", text="b"),
        n.ResponseDone(response_id="resp_core"),
    ]
    assert hold.model_id("resp_core") == "resp_core"  # done: the mapping is gone


def test_claimed_after_it_finished_it_comes_whole() -> None:
    hold = AnswerHold()
    hold.enabled = True
    fed(hold, n.ResponseStarted(response_id="own"), n.ResponseDone(response_id="own"))
    assert hold.claim("resp_core") == [n.ResponseDone(response_id="resp_core")]
    assert not hold.has_answer


def test_dropped_mid_answer_nothing_more_of_it_is_seen() -> None:
    hold = AnswerHold()
    hold.enabled = True
    fed(hold, n.ResponseStarted(response_id="own"))
    hold.drop()
    assert not hold.has_answer
    assert (
        fed(hold, n.TextDelta(response_id="own", text="x"), n.ResponseDone(response_id="own")) == []
    )
    # The next answer is held in its turn; events of other responses pass.
    other = n.TextDelta(response_id="resp_core", text="y")
    assert fed(hold, n.ResponseStarted(response_id="own2"), other) == [other]
    assert hold.has_answer


def test_it_holds_exactly_when_the_client_starts_responses() -> None:
    hold = AnswerHold()
    vad = n.TurnDetection(type="server_vad", create_response=True)
    hold.follow(n.SessionConfig(model="m", turn_detection=vad))
    assert not hold.enabled
    hold.follow(n.SessionConfig(model="m", turn_detection=None))  # push-to-talk
    assert hold.enabled
    asks = n.TurnDetection(type="server_vad", create_response=False)
    hold.follow(n.SessionConfig(model="m", turn_detection=asks))
    assert hold.enabled


def test_a_create_claims_the_answer_unless_the_conversation_grew() -> None:
    hold = AnswerHold()
    hold.enabled = True
    assert hold.answer_for("resp_core", conversation_grew=False) is None  # nothing held
    fed(hold, n.ResponseStarted(response_id="own"), n.ResponseDone(response_id="own"))
    assert hold.answer_for("resp_core", conversation_grew=False) == [
        n.ResponseDone(response_id="resp_core")
    ]
    fed(hold, n.ResponseStarted(response_id="own2"), n.TextDelta(response_id="own2", text="x"))
    # The client added an item since: the held answer is moot, the model is asked anew.
    assert hold.answer_for("resp_next", conversation_grew=True) is None
    assert not hold.has_answer
    assert fed(hold, n.TextDelta(response_id="own2", text="y")) == []  # its rest is dropped
