"""Conversation items: what a client may create, how the emulator stores them, and what the
model reads of each (the text said, the audio's length)."""

from __future__ import annotations

import base64
import binascii
import copy
import json
from dataclasses import dataclass, field
from typing import Any

from .errors import ClientError
from .ids import new_id

_ROLES = ("user", "assistant", "system")
_CONTENT = {
    "user": ("input_text", "input_audio", "input_image"),
    "system": ("input_text",),
    "assistant": ("output_text", "output_audio", "text", "audio"),
}


@dataclass(slots=True)
class Meta:
    """What the model knows of an item beyond its wire form."""

    said: str = ""  # the text of a message (a transcript for audio)
    audio_seconds: float = 0.0  # input or output audio the item holds
    # An assistant audio item's transcript fragments with their start times, for truncate.
    fragments: list[tuple[float, str]] = field(default_factory=list)


@dataclass(slots=True)
class Entry:
    item: dict[str, Any]
    meta: Meta


def decode_audio(data: Any, param: str) -> bytes:
    if not isinstance(data, str):
        raise ClientError(f"Invalid '{param}': expected a base64 string.", param=param)
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ClientError(
            f"Invalid '{param}': not valid base64.", code="invalid_value", param=param
        ) from None


def _require(item: dict[str, Any], param: str, **kinds: type) -> None:
    for name, kind in kinds.items():
        if not isinstance(item.get(name), kind):
            raise ClientError(
                f"Missing required parameter: '{param}.{name}'.",
                code="missing_required_parameter",
                param=f"{param}.{name}",
            )


def normalise(item: Any, param: str = "item") -> dict[str, Any]:
    """A client's item as the server stores it: an id, ``object``, ``status``; checked."""
    if not isinstance(item, dict):
        raise ClientError(f"Invalid type for '{param}': expected an object.", param=param)
    out = copy.deepcopy(item)
    kind = out.get("type", "message")
    out["type"] = kind
    out.setdefault("id", new_id("item_"))
    out["object"] = "realtime.item"
    if kind == "message":
        role = out.get("role")
        if role not in _ROLES:
            raise ClientError(
                f"Invalid '{param}.role': expected one of user, assistant, system.",
                param=f"{param}.role",
            )
        content = out.get("content")
        if not isinstance(content, list):
            raise ClientError(
                f"Missing required parameter: '{param}.content'.",
                code="missing_required_parameter",
                param=f"{param}.content",
            )
        for index, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") not in _CONTENT[role]:
                allowed = ", ".join(_CONTENT[role])
                raise ClientError(
                    f"Invalid '{param}.content[{index}].type': a {role} message takes {allowed}.",
                    param=f"{param}.content[{index}].type",
                )
        out.setdefault("status", "completed")
    elif kind == "function_call":
        for name in ("call_id", "name"):
            if not isinstance(out.get(name), str):
                raise ClientError(
                    f"Missing required parameter: '{param}.{name}'.",
                    code="missing_required_parameter",
                    param=f"{param}.{name}",
                )
        out.setdefault("arguments", "")
        out.setdefault("status", "completed")
    elif kind == "mcp_approval_response":
        _require(out, param, approval_request_id=str, approve=bool)
    elif kind == "function_call_output":
        for name in ("call_id", "output"):
            if not isinstance(out.get(name), str):
                raise ClientError(
                    f"Missing required parameter: '{param}.{name}'.",
                    code="missing_required_parameter",
                    param=f"{param}.{name}",
                )
        out.setdefault("status", "completed")
    else:
        raise ClientError(
            f"Invalid '{param}.type': expected message, function_call or function_call_output.",
            param=f"{param}.type",
        )
    return out


def said_of(item: dict[str, Any]) -> str:
    """The text of an item as the model reads it."""
    kind = item.get("type")
    if kind == "function_call":
        return f"{item.get('name')}({item.get('arguments', '')})"
    if kind == "function_call_output":
        return str(item.get("output", ""))
    parts = []
    for part in item.get("content") or []:
        text = part.get("text") if part.get("text") is not None else part.get("transcript")
        if isinstance(text, str):
            parts.append(text)
    return "".join(parts)


class Conversation:
    """The default conversation's items in order (``conversation.item.*``)."""

    def __init__(self) -> None:
        self.id = new_id("conv_")
        self.entries: list[Entry] = []

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.entries)

    def find(self, item_id: Any) -> Entry | None:
        return next((e for e in self.entries if e.item.get("id") == item_id), None)

    def last_id(self) -> str | None:
        return str(self.entries[-1].item["id"]) if self.entries else None

    def add(self, entry: Entry, previous_item_id: Any = None) -> str | None:
        """Insert after ``previous_item_id`` (the end when absent, the start for "root");
        returns the id of the item before it."""
        if self.find(entry.item["id"]) is not None:
            raise ClientError(
                f"Item with id '{entry.item['id']}' already exists.",
                code="item_id_already_exists",
                param="item.id",
            )
        if previous_item_id is None:
            before = self.last_id()
            self.entries.append(entry)
            return before
        if previous_item_id == "root":
            self.entries.insert(0, entry)
            return None
        anchor = self.find(previous_item_id)
        if anchor is None:
            raise ClientError(
                f"Previous item with id '{previous_item_id}' not found.",
                param="previous_item_id",
            )
        self.entries.insert(self.entries.index(anchor) + 1, entry)
        return str(previous_item_id)

    def delete(self, item_id: Any) -> None:
        entry = self.find(item_id)
        if entry is None:
            raise ClientError(
                f"Error deleting item: the item with id '{item_id}' does not exist.",
                param="item_id",
            )
        self.entries.remove(entry)


def function_name(entries: list[Entry], call_id: str, fallback: Any = None) -> str:
    """The name of the function a call id belongs to (Azure's output items may carry it)."""
    for entry in reversed(entries):
        if entry.item.get("type") == "function_call" and entry.item.get("call_id") == call_id:
            return str(entry.item.get("name"))
    return str(fallback) if fallback else "function"


def arguments_json(arguments: dict[str, Any]) -> str:
    return json.dumps(arguments, separators=(",", ":"))


def context_of(conversation: Conversation, given: Any) -> list[Entry]:
    """What the response reads: the conversation, or the response's own ``input`` (items
    and references to conversation items); an out-of-band response without input reads
    the conversation too, and adds nothing to it."""
    if given is None:
        return list(conversation)
    if not isinstance(given, list):
        raise ClientError(
            "Invalid type for 'response.input': expected an array.", param="response.input"
        )
    context = []
    for index, raw in enumerate(given):
        if isinstance(raw, dict) and raw.get("type") == "item_reference":
            entry = conversation.find(raw.get("id"))
            if entry is None:
                raise ClientError(
                    f"Invalid 'response.input[{index}].id': no item '{raw.get('id')}'.",
                    param=f"response.input[{index}].id",
                )
            context.append(entry)
            continue
        item = normalise(raw, f"response.input[{index}]")
        context.append(Entry(item, Meta(said=said_of(item))))
    return context
