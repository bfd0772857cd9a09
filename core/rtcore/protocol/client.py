"""Client events: one tagged union on ``type``, the same for both dialects."""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from rtcore.protocol.wire import ItemWire, ResponseParamsWire, SessionWire, Strict


class ClientEvent(Strict, tag_field="type"):
    event_id: str | UnsetType = UNSET


class SessionUpdate(ClientEvent, tag="session.update", kw_only=True):
    session: SessionWire


class TranscriptionSessionUpdate(ClientEvent, tag="transcription_session.update", kw_only=True):
    session: dict[str, object]


class InputAudioBufferAppend(ClientEvent, tag="input_audio_buffer.append", kw_only=True):
    audio: bytes


class InputAudioBufferCommit(ClientEvent, tag="input_audio_buffer.commit", kw_only=True):
    pass


class InputAudioBufferClear(ClientEvent, tag="input_audio_buffer.clear", kw_only=True):
    pass


class OutputAudioBufferClear(ClientEvent, tag="output_audio_buffer.clear", kw_only=True):
    response_id: str | UnsetType = UNSET


class ConversationItemCreate(ClientEvent, tag="conversation.item.create", kw_only=True):
    item: ItemWire
    previous_item_id: str | UnsetType = UNSET


class ConversationItemRetrieve(ClientEvent, tag="conversation.item.retrieve", kw_only=True):
    item_id: str


class ConversationItemDelete(ClientEvent, tag="conversation.item.delete", kw_only=True):
    item_id: str


class ConversationItemTruncate(ClientEvent, tag="conversation.item.truncate", kw_only=True):
    item_id: str
    content_index: int
    audio_end_ms: int


class ResponseCreate(ClientEvent, tag="response.create", kw_only=True):
    response: ResponseParamsWire | UnsetType = UNSET


class ResponseCancel(ClientEvent, tag="response.cancel", kw_only=True):
    response_id: str | UnsetType = UNSET


AnyClientEvent = (
    SessionUpdate
    | TranscriptionSessionUpdate
    | InputAudioBufferAppend
    | InputAudioBufferCommit
    | InputAudioBufferClear
    | OutputAudioBufferClear
    | ConversationItemCreate
    | ConversationItemRetrieve
    | ConversationItemDelete
    | ConversationItemTruncate
    | ResponseCreate
    | ResponseCancel
)

CLIENT_EVENT_TYPES: frozenset[str] = frozenset(
    str(cls.__struct_config__.tag) for cls in AnyClientEvent.__args__
)
