"""Function call ids as OpenAI's clients accept them (at most 32 characters).

A provider's own call id can be longer (Nova's toolUseId has 36 characters); clients cut
such ids (LiveKit), and their function_call_output then matches nothing. The client gets a
``call_...`` id of the core's instead, and the provider hears its own id back.
"""

from __future__ import annotations

import msgspec

from rtcore.ids import new_id
from rtcore.provider import messages as n

MAX_CALL_ID_LENGTH = 32


class CallIds:
    def __init__(self) -> None:
        self._provider_ids: dict[str, str] = {}  # the client's id -> the provider's

    def for_client(self, call_id: str) -> str:
        if len(call_id) <= MAX_CALL_ID_LENGTH:
            return call_id
        short = new_id("call_", MAX_CALL_ID_LENGTH - len("call_"))
        self._provider_ids[short] = call_id
        return short

    def for_provider(self, item: n.Item) -> n.Item:
        calls = n.FunctionCall | n.FunctionCallOutput
        if isinstance(item, calls) and (call_id := self._provider_ids.get(item.call_id)):
            return msgspec.structs.replace(item, call_id=call_id)
        return item
