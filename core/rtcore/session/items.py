"""Validating items from ``conversation.item.create`` into conversation items."""

from __future__ import annotations

from msgspec import UNSET

from rtcore.ids import new_id
from rtcore.protocol.errors import RealtimeError
from rtcore.protocol.wire import ContentPartWire, ItemWire
from rtcore.session.conversation import Conversation, ConvItem, Part

MAX_CLIENT_ID_LENGTH = 32
_ROLES = ("user", "assistant", "system")
_TEXT_TYPES = {
    "user": {"input_text"},
    "system": {"input_text"},
    "assistant": {"text", "output_text"},
}
_AUDIO_TYPES = {"user": {"input_audio"}, "system": set(), "assistant": {"audio", "output_audio"}}


def _missing(param: str) -> RealtimeError:
    return RealtimeError(
        "missing_required_parameter", f"Missing required parameter: '{param}'.", param=param
    )


def _part(part: ContentPartWire, role: str, param: str) -> Part:
    if part.type in _TEXT_TYPES[role]:
        if part.text is UNSET:
            raise _missing(f"{param}.text")
        return Part(kind="text", text=part.text)
    if part.type in _AUDIO_TYPES[role]:
        transcript = None if part.transcript is UNSET else part.transcript
        if transcript is None:
            # Speech-to-speech providers take conversation history as text; audio bytes in
            # an item cannot be replayed to them, so say so rather than drop them.
            raise RealtimeError(
                "invalid_value",
                "Audio content in conversation items needs a 'transcript': this model takes "
                "history as text. Stream live audio with input_audio_buffer.append instead.",
                param=f"{param}.transcript",
            )
        return Part(kind="audio", transcript=transcript)
    allowed = sorted(_TEXT_TYPES[role] | _AUDIO_TYPES[role])
    raise RealtimeError(
        "invalid_value",
        f"Invalid content type '{part.type}' for a {role} message. "
        f"Supported: {', '.join(allowed)}.",
        param=f"{param}.type",
    )


def item_from_wire(wire: ItemWire, conversation: Conversation) -> ConvItem:
    if wire.id is not UNSET:
        if len(wire.id) > MAX_CLIENT_ID_LENGTH:
            raise RealtimeError(
                "string_above_max_length",
                f"Invalid 'item.id': string too long. Expected at most {MAX_CLIENT_ID_LENGTH} "
                f"characters, got {len(wire.id)}.",
                param="item.id",
            )
        item_id = wire.id
    else:
        item_id = new_id("item_")
    if wire.type == "message":
        if wire.role is UNSET:
            raise _missing("item.role")
        if wire.role not in _ROLES:
            raise RealtimeError(
                "invalid_value",
                f"Invalid value: '{wire.role}'. Supported values are: 'user', 'assistant', "
                "and 'system'.",
                param="item.role",
            )
        if wire.content is UNSET:
            raise _missing("item.content")
        parts = [_part(p, wire.role, f"item.content[{i}]") for i, p in enumerate(wire.content)]
        return ConvItem(id=item_id, type="message", role=wire.role, parts=parts)
    if wire.type == "function_call":
        if wire.call_id is UNSET:
            raise _missing("item.call_id")
        if wire.name is UNSET:
            raise _missing("item.name")
        return ConvItem(
            id=item_id,
            type="function_call",
            call_id=wire.call_id,
            name=wire.name,
            arguments="{}" if wire.arguments is UNSET else wire.arguments,
        )
    if wire.call_id is UNSET:
        raise _missing("item.call_id")
    if wire.output is UNSET:
        raise _missing("item.output")
    if conversation.function_call(wire.call_id) is None:
        raise RealtimeError(
            "invalid_value",
            f"No function call with call_id '{wire.call_id}' is in the conversation: send the "
            "output of a call the model made (see response.function_call_arguments.done).",
            param="item.call_id",
        )
    if conversation.has_output_for(wire.call_id):
        raise RealtimeError(
            "invalid_value",
            f"The function call '{wire.call_id}' already has an output.",
            param="item.call_id",
        )
    return ConvItem(
        id=item_id, type="function_call_output", call_id=wire.call_id, output=wire.output
    )
