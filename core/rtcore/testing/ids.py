"""Comparing provider events whose ids the provider minted."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from rtcore.provider.messages import Event

ANY_ID = "*"


def anonymous(events: Iterable[Event]) -> list[Event]:
    """The events with the ids a provider mints (spoken turns' item ids, its own responses'
    ids) replaced by ``ANY_ID``, so a sequence can be compared with an expected one."""
    out: list[Event] = []
    for event in events:
        fields = {
            name: ANY_ID for name in ("item_id", "response_id") if name in event.__struct_fields__
        }
        out.append(msgspec.structs.replace(event, **fields) if fields else event)
    return out
