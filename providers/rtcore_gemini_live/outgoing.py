"""What a session sends Gemini, as the kit's supervisor carries it.

The supervisor holds and replays payloads as bytes (a backlog while a connection opens,
audio replayed into the next one), so each client message travels as one msgpack-encoded
``Outgoing`` and is handed to the SDK's typed send methods only when a connection takes it.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from rtcore.kit import TextTurn

Scheduling = Literal["WHEN_IDLE", "INTERRUPT", "SILENT"]


class Audio(msgspec.Struct, frozen=True, tag="audio"):
    pcm: bytes
    rate: int


class Turns(msgspec.Struct, frozen=True, tag="turns"):
    turns: list[TextTurn]  # user and assistant turns (system ones are rendered as user)
    complete: bool


class ToolResult(msgspec.Struct, frozen=True):
    call_id: str
    name: str
    output: str
    scheduling: Scheduling | None = None


class ToolResults(msgspec.Struct, frozen=True, tag="tool_results"):
    results: list[ToolResult]


class Activity(msgspec.Struct, frozen=True, tag="activity"):
    """Push-to-talk: the user's turn starts (``start``) or ends."""

    start: bool


Outgoing = Audio | Turns | ToolResults | Activity

# Gemini's turns are the user's or the model's.
_ROLES = {"user": "user", "assistant": "model", "system": "user"}

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Outgoing)


def encode(message: Outgoing) -> bytes:
    return _encoder.encode(message)


async def deliver(session: Any, payload: bytes) -> None:
    """Send one encoded message through the SDK session (``AsyncSession``)."""
    from google.genai import types

    match _decoder.decode(payload):
        case Audio(pcm=pcm, rate=rate):
            blob = types.Blob(data=pcm, mime_type=f"audio/pcm;rate={rate}")
            await session.send_realtime_input(audio=blob)
        case Turns(turns=turns, complete=complete):
            contents = [
                types.Content(role=_ROLES[t.role], parts=[types.Part(text=t.text)]) for t in turns
            ]
            await session.send_client_content(turns=contents or None, turn_complete=complete)
        case ToolResults(results=results):
            responses = [
                types.FunctionResponse(
                    id=r.call_id,
                    name=r.name,
                    response=_as_object(r.output),
                    scheduling=types.FunctionResponseScheduling(r.scheduling)
                    if r.scheduling
                    else None,
                )
                for r in results
            ]
            await session.send_tool_response(function_responses=responses)
        case Activity(start=True):
            await session.send_realtime_input(activity_start=types.ActivityStart())
        case Activity(start=False):
            await session.send_realtime_input(activity_end=types.ActivityEnd())


def _as_object(output: str) -> dict[str, Any]:
    """A function's output as Gemini wants it: a JSON object (``output`` holds anything
    else, text included)."""
    try:
        value = msgspec.json.decode(output)
    except msgspec.DecodeError:
        return {"output": output}
    return value if isinstance(value, dict) else {"output": value}
