"""The conversation: items in order, addressable by id and by call id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import msgspec

from rtcore.mcp.spec import ToolInfo
from rtcore.protocol.errors import RealtimeError
from rtcore.provider.messages import FunctionCall, FunctionCallOutput, Item, Message

PartKind = Literal["text", "audio"]
ItemType = Literal[
    "message",
    "function_call",
    "function_call_output",
    "mcp_list_tools",
    "mcp_call",
    "mcp_approval_request",
    "mcp_approval_response",
]
# The neutral id of an MCP call's output, which the model sees as a function's.
OUTPUT_SUFFIX = "~out"


class McpError(msgspec.Struct, kw_only=True):
    type: Literal["http_error", "protocol_error", "tool_execution_error"]
    message: str
    code: int | None = None


class Part(msgspec.Struct, kw_only=True):
    """``text`` for a text part; ``transcript`` for an audio part (None until known)."""

    kind: PartKind
    text: str | None = None
    transcript: str | None = None


class ConvItem(msgspec.Struct, kw_only=True):
    id: str
    type: ItemType
    status: str = "completed"
    role: str | None = None
    parts: list[Part] = msgspec.field(default_factory=list)
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | None = None
    audio_ms: int = 0
    # MCP items; ``call_id`` of an mcp_call / mcp_approval_request / mcp_approval_response
    # is the model's own call id (never shown to the client).
    server_label: str | None = None
    tools: tuple[ToolInfo, ...] = ()
    error: McpError | None = None
    approval_request_id: str | None = None
    approve: bool | None = None
    reason: str | None = None
    # An MCP item of the vendor's (Capabilities.remote_mcp): the vendor has it already.
    remote: bool = False

    def text(self) -> str | None:
        chunks = [p.text if p.kind == "text" else p.transcript for p in self.parts]
        present = [c for c in chunks if c]
        return "".join(present) if present else None

    def for_model(self) -> list[Item]:
        """The item as the model knows it. MCP items are function calls and their outputs
        to the model (the gateway ran them); a tool list is nothing to it."""
        if self.type == "mcp_list_tools":
            return []
        call_id = self.call_id or ""
        made = FunctionCall(
            id=self.id, call_id=call_id, name=self.name or "", arguments=self.arguments or "{}"
        )
        if self.type == "mcp_approval_request":
            return [made]
        if self.type == "mcp_approval_response":
            if self.approve:
                return []  # the call that follows carries the output
            why = f" ({self.reason})" if self.reason else ""
            refused = f"The user declined to run this tool{why}."
            return [FunctionCallOutput(id=self.id, call_id=call_id, output=refused)]
        if self.type == "mcp_call":
            out: list[Item] = [] if self.approval_request_id else [made]
            if self.status in ("completed", "failed"):
                if self.error is not None:
                    text = f"The tool failed ({self.error.type}): {self.error.message}"
                else:
                    text = self.output or ""
                out.append(
                    FunctionCallOutput(id=self.id + OUTPUT_SUFFIX, call_id=call_id, output=text)
                )
            return out
        return [self.to_neutral()]

    def to_neutral(self) -> Item:
        if self.type == "function_call":
            return FunctionCall(
                id=self.id,
                call_id=self.call_id or "",
                name=self.name or "",
                arguments=self.arguments or "{}",
            )
        if self.type == "function_call_output":
            return FunctionCallOutput(
                id=self.id, call_id=self.call_id or "", output=self.output or ""
            )
        return Message(
            id=self.id,
            role=self.role,  # type: ignore[arg-type]
            text=self.text(),
            has_audio=any(p.kind == "audio" for p in self.parts),
        )


# Bounds of one conversation: past either, the oldest items go first (as OpenAI's
# truncation drops the oldest), so that no client can grow a session's memory without end.
MAX_ITEMS = 4096
MAX_TEXT_BYTES = 32 * 1024 * 1024


def _size(item: ConvItem) -> int:
    parts = sum(len(p.text or "") + len(p.transcript or "") for p in item.parts)
    return parts + len(item.arguments or "") + len(item.output or "") + 64 + 128 * len(item.tools)


class Conversation:
    """Items in order, with an index by id (lookups are O(1): a long conversation must not
    make every event slower)."""

    def __init__(self, *, max_items: int = MAX_ITEMS, max_bytes: int = MAX_TEXT_BYTES) -> None:
        self._items: list[ConvItem] = []
        self._by_id: dict[str, ConvItem] = {}
        # Each item's size as last measured (at insertion, again when it is final).
        self._sizes: dict[str, int] = {}
        self._bytes = 0
        self.max_items = max_items
        self.max_bytes = max_bytes

    @property
    def last_id(self) -> str | None:
        return self._items[-1].id if self._items else None

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._by_id

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[ConvItem]:
        return iter(list(self._items))

    def previous_of(self, item_id: str) -> str | None:
        item = self._by_id.get(item_id)
        if item is None:
            return None
        index = self._items.index(item)
        return self._items[index - 1].id if index else None

    def model_previous(self, item_id: str | None) -> str | None:
        """What the model knows last at ``item_id``'s place, for an item that follows it:
        an MCP item is a function call then its output to the model (the output last), a
        tool list nothing (the item before it counts)."""
        while item_id is not None:
            item = self._by_id.get(item_id)
            if item is None or not item.type.startswith("mcp_"):
                return item_id
            made = item.for_model()
            if made:
                return made[-1].id
            item_id = self.previous_of(item_id)
        return None

    def get(self, item_id: str) -> ConvItem | None:
        return self._by_id.get(item_id)

    def require(self, item_id: str, param: str = "item_id") -> ConvItem:
        item = self.get(item_id)
        if item is None:
            raise RealtimeError(
                "item_not_found",
                f"Item with item_id '{item_id}' not found in the conversation.",
                param=param,
            )
        return item

    def function_call(self, call_id: str) -> ConvItem | None:
        for item in self._items:
            if item.type == "function_call" and item.call_id == call_id:
                return item
        return None

    def has_output_for(self, call_id: str) -> bool:
        return any(i.type == "function_call_output" and i.call_id == call_id for i in self._items)

    def insert(self, item: ConvItem, previous_item_id: str | None) -> str | None:
        """Insert after ``previous_item_id`` ("root" or None = at the start when given
        explicitly; the caller passes ``last_id`` for "append"). Returns the actual
        previous item id."""
        self._check_new(item)
        if previous_item_id is None or previous_item_id == "root":
            self._items.insert(0, item)
            self._index(item)
            return None
        previous = self._by_id.get(previous_item_id)
        if previous is None:
            raise RealtimeError(
                "item_not_found",
                f"previous_item_id '{previous_item_id}' is not in the conversation.",
                param="previous_item_id",
            )
        self._items.insert(self._items.index(previous) + 1, item)
        self._index(item)
        return previous_item_id

    def append(self, item: ConvItem) -> str | None:
        self._check_new(item)
        previous = self.last_id
        self._items.append(item)
        self._index(item)
        return previous

    def _index(self, item: ConvItem) -> None:
        self._by_id[item.id] = item
        self._sizes[item.id] = size = _size(item)
        self._bytes += size

    def measure(self, item_id: str) -> None:
        """The item is final (a reply done, a transcript in): count its size anew."""
        item = self._by_id.get(item_id)
        if item is not None:
            size = _size(item)
            self._bytes += size - self._sizes[item_id]
            self._sizes[item_id] = size

    def _check_new(self, item: ConvItem) -> None:
        if item.id in self._by_id:
            raise RealtimeError(
                "item_already_exists",
                f"An item with id '{item.id}' already exists in the conversation.",
                param="item.id",
            )

    def delete(self, item_id: str) -> None:
        item = self.require(item_id)
        self._items.remove(item)
        self._forget(item_id)

    def _forget(self, item_id: str) -> None:
        del self._by_id[item_id]
        self._bytes -= self._sizes.pop(item_id)

    def over_bounds(self, keep: set[str]) -> list[str]:
        """Remove the oldest items (never those in ``keep``: responses still streaming)
        until the conversation is within its bounds; returns their ids, oldest first."""
        removed: list[str] = []
        index = 0
        while (len(self._items) > self.max_items or self._bytes > self.max_bytes) and index < len(
            self._items
        ):
            item = self._items[index]
            if item.id in keep:
                index += 1
                continue
            del self._items[index]
            self._forget(item.id)
            removed.append(item.id)
        return removed


def truncate_item(item: ConvItem, content_index: int, audio_end_ms: int) -> str:
    """Cut an assistant audio item to what the client played; returns the kept transcript.
    ``RealtimeError`` for an item or a part that is not assistant audio, or a time past its
    audio (which, while the item streams, is what has been sent so far)."""
    if item.role != "assistant" or not any(p.kind == "audio" for p in item.parts):
        raise RealtimeError(
            "invalid_value", "Only assistant messages with audio can be truncated.", param="item_id"
        )
    if not 0 <= content_index < len(item.parts) or item.parts[content_index].kind != "audio":
        raise RealtimeError(
            "invalid_value",
            f"Content part {content_index} of item '{item.id}' is not audio.",
            param="content_index",
        )
    if audio_end_ms < 0 or audio_end_ms > item.audio_ms:
        raise RealtimeError(
            "invalid_value",
            f"audio_end_ms {audio_end_ms} is beyond the item's audio ({item.audio_ms} ms).",
            param="audio_end_ms",
        )
    part = item.parts[content_index]
    full = part.transcript or ""
    # No word timings from the provider: keep the share of the transcript that matches the
    # share of audio heard, cut at a word boundary.
    keep = int(len(full) * audio_end_ms / item.audio_ms) if item.audio_ms else len(full)
    cut = full[:keep].rsplit(" ", 1)[0] if keep < len(full) else full
    part.transcript = cut
    item.audio_ms = audio_end_ms
    return cut
