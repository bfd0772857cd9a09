"""The conversation as plain text turns, for an upstream that can take earlier turns only as
text: a new connection that never heard them, or a model that did not produce them.

A function call and its output become text, since a call id means something only to the
connection that issued it. Audio without a transcript is left out: nothing such an upstream
could use.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec

from rtcore.kit.turns.mirror import ConversationMirror
from rtcore.provider.messages import FunctionCall, FunctionCallOutput, Item, Message

TextRole = Literal["user", "assistant", "system"]


class TextTurn(msgspec.Struct, frozen=True):
    role: TextRole
    text: str


def as_text(item: Item) -> TextTurn | None:
    """One item as a turn of text, or None when it holds none."""
    match item:
        case Message(role=role, text=text) if text:
            return TextTurn(role, text)
        case FunctionCall(name=name, arguments=arguments):
            return TextTurn("assistant", f"(I called the tool {name} with {arguments})")
        case FunctionCallOutput(output=output):
            # The call, the turn before it, names the tool.
            return TextTurn("user", f"(The tool returned: {output})")
    return None


def text_turns(items: Iterable[Item]) -> list[TextTurn]:
    """Turns in order, consecutive turns of one role joined. System items become user
    turns marked as instructions, for an upstream whose turns have no system role."""
    turns: list[TextTurn] = []
    for item in items:
        turn = as_text(item)
        if turn is None:
            continue
        if turn.role == "system":
            turn = TextTurn("user", f"(Instructions: {turn.text})")
        if turns and turns[-1].role == turn.role:
            turns[-1] = TextTurn(turn.role, f"{turns[-1].text}\n{turn.text}")
        else:
            turns.append(turn)
    return turns


def by_model(item: Item) -> bool:
    return isinstance(item, FunctionCall) or (
        isinstance(item, Message) and item.role == "assistant"
    )


def answered_and_owed(items: list[Item]) -> tuple[list[Item], list[Item]]:
    """The conversation up to the model's last word (a reply or a tool call), and what
    came after it: the turn a reply still owes."""
    last = max((i for i, item in enumerate(items) if by_model(item)), default=-1)
    return items[: last + 1], items[last + 1 :]


def owed(mirror: ConversationMirror) -> list[Item]:
    """The client's items the upstream has not been given that came after the model's last
    word: a turn still to be answered. Those before it were answered already, by this
    model or another (the conversation a session brings when it moves from another
    deployment): history, never part of the next turn."""
    answered = {item.id for item in answered_and_owed(mirror.items)[0]}
    return [i for i in mirror.unsent() if i.id not in answered]
