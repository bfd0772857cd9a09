"""Conversation items -> Gemini turns (``Content`` as role and text).

Function calls and their outputs are rendered as text: a call id means something only to
the connection that issued it, and history seeds a connection that did not. System items
become user turns marked as instructions: Gemini's turns have no system role.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec

from rtcore.provider.messages import FunctionCall, FunctionCallOutput, Item, Message

TurnRole = Literal["user", "model"]


class Turn(msgspec.Struct, frozen=True):
    role: TurnRole
    text: str


def render_item(item: Item) -> Turn | None:
    match item:
        case Message(role="system", text=text) if text:
            return Turn("user", f"(Instructions: {text})")
        case Message(role="user", text=text) if text:
            return Turn("user", text)
        case Message(role="assistant", text=text) if text:
            return Turn("model", text)
        case FunctionCall(name=name, arguments=arguments):
            return Turn("model", f"(I called the tool {name} with {arguments})")
        case FunctionCallOutput(output=output):
            # The call (the model turn before it) names the tool.
            return Turn("user", f"(The tool returned: {output})")
    return None  # untranscribed audio: nothing Gemini could use


def render(items: Iterable[Item]) -> list[Turn]:
    """Turns in order, consecutive turns of one role joined."""
    turns: list[Turn] = []
    for item in items:
        turn = render_item(item)
        if turn is None:
            continue
        if turns and turns[-1].role == turn.role:
            turns[-1] = Turn(turn.role, f"{turns[-1].text}\n{turn.text}")
        else:
            turns.append(turn)
    return turns
