"""The session's own record of the conversation, replayed as history on a new stream.

The core sends only the items clients create; what the model said and what the user said
out loud are recorded here from the neutral events, so a rotated or restarted stream
knows the whole conversation.
"""

from __future__ import annotations

import itertools

from rtcore.neutral import FunctionCall, FunctionCallOutput, Item, Message

_ids = itertools.count()


def _local_id(kind: str) -> str:
    return f"sonic_{kind}_{next(_ids)}"


class ConversationLog:
    def __init__(self) -> None:
        self.items: list[Item] = []
        self._assistant: list[str] = []

    def add(self, item: Item, previous_item_id: str | None = None) -> None:
        if previous_item_id is not None:
            for index, existing in enumerate(self.items):
                if existing.id == previous_item_id:
                    self.items.insert(index + 1, item)
                    return
        self.items.append(item)

    def delete(self, item_id: str) -> None:
        self.items = [i for i in self.items if i.id != item_id]

    def truncate(self, item_id: str, text: str) -> None:
        """Replace an assistant message's text with what the user actually heard. Items
        the model produced carry local ids, so an unknown id means the latest reply."""
        for index in range(len(self.items) - 1, -1, -1):
            item = self.items[index]
            if (
                isinstance(item, Message)
                and item.role == "assistant"
                and (item.id == item_id or item.id.startswith("sonic_"))
            ):
                self.items[index] = Message(id=item.id, role="assistant", text=text)
                return

    def user_said(self, text: str) -> None:
        if text.strip():
            self.items.append(Message(id=_local_id("user"), role="user", text=text, has_audio=True))

    def assistant_delta(self, text: str) -> None:
        self._assistant.append(text)

    def assistant_done(self) -> None:
        text = "".join(self._assistant).strip()
        self._assistant.clear()
        if text:
            self.items.append(Message(id=_local_id("assistant"), role="assistant", text=text))

    def tool_call(self, call_id: str, name: str, arguments: str) -> None:
        self.items.append(
            FunctionCall(id=_local_id("call"), call_id=call_id, name=name, arguments=arguments)
        )

    def has_output_for(self, call_id: str) -> bool:
        return any(isinstance(i, FunctionCallOutput) and i.call_id == call_id for i in self.items)
