"""The core's conversation as a provider sees it: every item under the core's id, in the
core's order, kept from the ``AddItem`` / ``UpdateItem`` / ``TruncateItem`` / ``DeleteItem``
commands. A provider that must replay history (a new upstream stream, a rotation) renders
it from here, so a deleted or out-of-band item can never reach the model again.

``heard`` records a provider's own transcript of a user turn, so replies computed right after
it need not wait for the core's ``UpdateItem`` (which carries the same text, later).

``unsent`` tracks the client's items the live upstream has not been given yet (items from
the user's audio or the model's output it has seen already); ``mark_sent`` is the
provider's to call when it delivers them, or when a new stream takes the whole history.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from rtcore.provider.messages import (
    AddItem,
    Command,
    DeleteItem,
    Item,
    ItemSource,
    Message,
    TruncateItem,
    UpdateItem,
)


class MirroredItem(msgspec.Struct, kw_only=True):
    item: Item
    source: ItemSource
    sent: bool


class ConversationMirror:
    def __init__(self) -> None:
        self._order: list[str] = []
        self._items: dict[str, MirroredItem] = {}
        self._heard: dict[str, str] = {}

    @property
    def items(self) -> list[Item]:
        return [self._items[i].item for i in self._order]

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def get(self, item_id: str) -> Item | None:
        entry = self._items.get(item_id)
        return entry.item if entry is not None else None

    def apply(self, command: Command) -> bool:
        """Apply a conversation command; False for any other command."""
        match command:
            case AddItem(item=item, previous_item_id=previous, source=source):
                self._add(item, previous, source)
            case UpdateItem(item=item):
                if (entry := self._items.get(item.id)) is not None:
                    entry.item = item
            case TruncateItem(item_id=item_id, text=text):
                entry = self._items.get(item_id)
                if entry is not None and isinstance(entry.item, Message):
                    entry.item = msgspec.structs.replace(entry.item, text=text)
            case DeleteItem(item_id=item_id):
                if self._items.pop(item_id, None) is not None:
                    self._order.remove(item_id)
            case _:
                return False
        return True

    def heard(self, item_id: str, text: str) -> None:
        """The provider transcribed user turn ``item_id`` itself (before or after the core's
        ``AddItem`` for it)."""
        entry = self._items.get(item_id)
        if entry is None:
            self._heard[item_id] = text
        elif isinstance(entry.item, Message) and not entry.item.text:
            entry.item = msgspec.structs.replace(entry.item, text=text)

    def _add(self, item: Item, previous: str | None, source: ItemSource) -> None:
        if (text := self._heard.pop(item.id, None)) and isinstance(item, Message):
            item = item if item.text else msgspec.structs.replace(item, text=text)
        if item.id in self._items:
            self._order.remove(item.id)  # re-announced: the core's position wins
        self._items[item.id] = MirroredItem(item=item, source=source, sent=source != "client")
        if previous is None:
            self._order.insert(0, item.id)
        elif self._order and self._order[-1] == previous:
            self._order.append(item.id)  # the usual case, without a search
        elif previous in self._items:
            self._order.insert(self._order.index(previous) + 1, item.id)
        else:
            self._order.append(item.id)

    def unsent(self) -> list[Item]:
        """Client items the live upstream has not been given, in conversation order."""
        return [e.item for i in self._order if not (e := self._items[i]).sent]

    def mark_sent(self, item_ids: Iterable[str] | None = None) -> None:
        """Mark the given items (None: all) as delivered upstream."""
        for item_id in self._order if item_ids is None else item_ids:
            if (entry := self._items.get(item_id)) is not None:
                entry.sent = True
