"""How a requested response is asked of Gemini: the tool results it waits for, as
``toolResponse``, and the client's new items as a turn.

A tool call id means something only to the connection that issued it: a result for a call
another connection (or another model, before a failover) made goes in as text, after its
call, in the conversation's order. The turn ends with the newest of the new items, which is
what the model answers; per-response instructions go in with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from rtcore.kit import TextTurn, text_turns
from rtcore.provider import messages as n
from rtcore_gemini_live.outgoing import Scheduling, ToolResult, ToolResults, Turns, encode


class ReplyRequest(msgspec.Struct, frozen=True, kw_only=True):
    items: Sequence[n.Item]  # the client's new items (no results)
    results: Sequence[n.FunctionCallOutput]
    instructions: str | None = None
    scheduling: Scheduling | None = None  # NON_BLOCKING models: when a result is spoken

    def messages(self, conversation: Sequence[n.Item], live_calls: set[str]) -> list[bytes]:
        """The messages for a connection whose own calls are ``live_calls`` (the results
        sent here are taken out of it)."""
        calls = {i.call_id: i for i in conversation if isinstance(i, n.FunctionCall)}
        on_live = [r for r in self.results if r.call_id in live_calls]
        turns = text_turns(self._in_order(conversation, calls, live_calls))
        if self.instructions:
            turns.append(TextTurn("user", f"(Instructions for this reply: {self.instructions})"))
        if not on_live:
            return [encode(Turns(turns, complete=True))]
        out = [encode(Turns(turns, complete=False))] if turns else []
        results = [
            ToolResult(
                call_id=r.call_id,
                name=calls[r.call_id].name if r.call_id in calls else "",
                output=r.output,
                scheduling=self.scheduling,
            )
            for r in on_live
        ]
        live_calls.difference_update(r.call_id for r in on_live)
        return [*out, encode(ToolResults(results))]

    def _in_order(
        self,
        conversation: Sequence[n.Item],
        calls: dict[str, n.FunctionCall],
        live_calls: set[str],
    ) -> list[n.Item]:
        """The new items, and each result for a call this connection never issued after
        its call, in the conversation's order."""
        new = {i.id for i in self.items}
        orphans = {r.id for r in self.results if r.call_id not in live_calls}
        out: list[n.Item] = []
        for item in conversation:
            if item.id in new:
                out.append(item)
            elif item.id in orphans and isinstance(item, n.FunctionCallOutput):
                call = calls.get(item.call_id)
                if call is not None and call.id not in new and (not out or out[-1] is not call):
                    out.append(call)
                out.append(item)
        return out
