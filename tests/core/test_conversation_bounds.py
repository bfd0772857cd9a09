"""A conversation has bounds: past them its oldest items go first (as OpenAI's truncation
drops the oldest), each reported as deleted to the client and the provider, so no client
can grow a session's memory without end."""

from __future__ import annotations

import json

from rtcore.provider import messages as n
from rtcore.session.conversation import MAX_ITEMS
from tests.core.conftest import Harness, ScriptedProvider, text_reply


def item(i: int, text: str = "hi") -> dict[str, object]:
    return {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "id": f"item_{i}",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        },
    }


async def test_past_the_item_bound_the_oldest_items_go_first() -> None:
    provider = ScriptedProvider(text_reply)
    async with Harness(provider) as client:
        for i in range(MAX_ITEMS + 10):
            await client.send(item(i))
        await client.send({"type": "response.create"})
        await client.wait_for("response.done")
        await client.send({"type": "conversation.item.retrieve", "item_id": "item_0"})
        gone = await client.wait_for("error")
        await client.send({"type": "conversation.item.retrieve", "item_id": "item_11"})
        kept = await client.wait_for("conversation.item.retrieved")
    deleted = [e["item_id"] for e in client.events if e["type"] == "conversation.item.deleted"]
    # Ten for the user items; the reply's item pushed one more out.
    assert deleted == [f"item_{i}" for i in range(11)]
    assert gone["error"]["code"] == "item_not_found"
    assert kept["item"]["id"] == "item_11"
    told = [c.item_id for c in provider.commands if isinstance(c, n.DeleteItem)]
    assert told == deleted


async def test_past_the_byte_bound_too() -> None:
    provider = ScriptedProvider(text_reply)
    harness = Harness(provider)
    async with harness as client:
        conversation = client.conn.session.conversation
        conversation.max_bytes = 200_000  # a smaller bound, to test with small events
        for i in range(10):
            await client.send(json.dumps(item(i, "x" * 30_000)))
    deleted = [e["item_id"] for e in client.events if e["type"] == "conversation.item.deleted"]
    assert deleted == ["item_0", "item_1", "item_2", "item_3"]
    assert len(conversation) == 6
