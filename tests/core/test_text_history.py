"""The kit's rendering of a conversation as text turns, and the turn a reply still owes."""

from __future__ import annotations

from rtcore.kit import ConversationMirror, TextTurn, answered_and_owed, as_text, owed, text_turns
from rtcore.provider import messages as n


def test_items_render_as_text_and_audio_without_a_transcript_is_left_out() -> None:
    assert as_text(n.Message(id="u", role="user", text="hi")) == TextTurn("user", "hi")
    assert as_text(n.Message(id="a", role="assistant", has_audio=True)) is None
    call = n.FunctionCall(id="c", call_id="call_1", name="weather", arguments='{"city":"Oslo"}')
    said = '(I called the tool weather with {"city":"Oslo"})'
    assert as_text(call) == TextTurn("assistant", said)
    result = n.FunctionCallOutput(id="r", call_id="call_1", output="sunny")
    assert as_text(result) == TextTurn("user", "(The tool returned: sunny)")


def test_turns_join_one_role_and_mark_system_items_as_instructions() -> None:
    items: list[n.Item] = [
        n.Message(id="s", role="system", text="Be brief."),
        n.Message(id="u1", role="user", text="What is the weather?"),
        n.FunctionCall(id="c", call_id="call_1", name="weather", arguments="{}"),
        n.FunctionCallOutput(id="r", call_id="call_1", output="sunny"),
        n.Message(id="u2", role="user", has_audio=True),  # untranscribed: nothing to say
        n.Message(id="a", role="assistant", text="Sunny."),
    ]
    assert text_turns(items) == [
        TextTurn("user", "(Instructions: Be brief.)\nWhat is the weather?"),
        TextTurn("assistant", "(I called the tool weather with {})"),
        TextTurn("user", "(The tool returned: sunny)"),
        TextTurn("assistant", "Sunny."),
    ]


def test_what_came_after_the_models_last_word_is_owed() -> None:
    first = n.Message(id="u1", role="user", text="hi")
    reply = n.Message(id="a1", role="assistant", text="hello")
    later = n.Message(id="u2", role="user", text="and now?")
    answered, after = answered_and_owed([first, reply, later])
    assert answered == [first, reply]
    assert after == [later]
    assert answered_and_owed([first]) == ([], [first])
    # A spoken reply with no transcript answered all the same: what follows it is owed.
    spoken = n.Message(id="a0", role="assistant", has_audio=True)
    assert answered_and_owed([first, spoken, later]) == ([first, spoken], [later])

    mirror = ConversationMirror()
    for previous, item in ((None, first), ("u1", reply), ("a1", later)):
        mirror.apply(n.AddItem(item=item, previous_item_id=previous))
    # A conversation the client gave whole: only what follows the reply is a turn to answer.
    assert owed(mirror) == [later]
    mirror.mark_sent(["u2"])
    assert owed(mirror) == []
