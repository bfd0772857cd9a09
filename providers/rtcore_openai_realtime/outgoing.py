"""Neutral settings and items -> the upstream's client events (GA; xAI's flat session
shape), as JSON text ready to send. No I/O."""

from __future__ import annotations

import base64
from typing import Any

import msgspec

from rtcore.provider import messages as n
from rtcore.provider import remote_tools as rt
from rtcore_openai_realtime.models import Vendor

_encode = msgspec.json.Encoder().encode


def event(kind: str, **fields: Any) -> bytes:
    return _encode({"type": kind, **fields})


def append(pcm: bytes) -> bytes:
    return event("input_audio_buffer.append", audio=base64.b64encode(pcm).decode("ascii"))


def _tool(tool: n.ToolDef) -> dict[str, Any]:
    return {
        "type": "function",
        "name": tool.name,
        "description": tool.description,
        "parameters": tool.parameters or {"type": "object", "properties": {}},
    }


def _filter(f: rt.RemoteToolFilter) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if f.names is not None:
        out["tool_names"] = list(f.names)
    if f.read_only is not None:
        out["read_only"] = f.read_only
    return out


def _mcp_tool(server: rt.RemoteMcpServer) -> dict[str, Any]:
    """OpenAI's ``mcp`` tool (the SDK's ``Mcp``): the URL and headers the gateway resolved
    (an operator's server's credentials are sent to the vendor, never to the client)."""
    tool: dict[str, Any] = {
        "type": "mcp",
        "server_label": server.label,
        "server_url": server.url,
        "require_approval": server.approval,
    }
    if server.approval == "filter":
        tool["require_approval"] = {
            name: _filter(f)
            for name, f in (("always", server.approve_always), ("never", server.approve_never))
            if f is not None
        }
    if server.headers:
        tool["headers"] = dict(server.headers)
    if server.description:
        tool["server_description"] = server.description
    if server.allowed is not None:
        tool["allowed_tools"] = _filter(server.allowed)
    return tool


def answer_approval(answer: rt.AnswerApproval, previous: str | None) -> bytes:
    item: dict[str, Any] = {
        "id": answer.item_id,
        "type": "mcp_approval_response",
        "approval_request_id": answer.approval_request_id,
        "approve": answer.approve,
    }
    if answer.reason is not None:
        item["reason"] = answer.reason
    fields: dict[str, Any] = {"item": item}
    if previous is not None:
        fields["previous_item_id"] = previous
    return event("conversation.item.create", **fields)


def _tool_choice(choice: str) -> Any:
    if choice.startswith("function:"):
        return {"type": "function", "name": choice.removeprefix("function:")}
    return choice


# Semantic VAD's eagerness on xAI, as the silence (ms) that ends a turn: "auto" and "medium"
# are server VAD's usual 500 ms; "high" answers sooner, "low" lets the user pause longer.
XAI_SILENCE_BY_EAGERNESS = {"high": 300, "medium": 500, "auto": 500, "low": 1000}


def _turn_detection(td: n.TurnDetection | None, vendor: Vendor) -> dict[str, Any] | None:
    if td is None:
        return None
    out: dict[str, Any] = {"type": td.type if vendor != "xai" else "server_vad"}
    if td.type == "server_vad" or vendor == "xai":
        for name in ("threshold", "prefix_padding_ms", "silence_duration_ms"):
            if (value := getattr(td, name)) is not None:
                out[name] = value
        if td.type == "semantic_vad" and "silence_duration_ms" not in out:
            # xAI detects turns by silence alone: semantic VAD's eagerness becomes the
            # silence that ends a turn (the nearest meaning its server VAD has).
            out["silence_duration_ms"] = XAI_SILENCE_BY_EAGERNESS.get(td.eagerness or "auto", 500)
    elif td.eagerness is not None:
        out["eagerness"] = td.eagerness
    if vendor != "xai":
        out["create_response"] = td.create_response
        out["interrupt_response"] = td.interrupt_response
    return out


# The G.711 each vendor takes as it is, under its GA name (always 8 kHz: no rate).
_G711_TYPES = {"g711_ulaw": "audio/pcmu", "g711_alaw": "audio/pcma"}


def _format(config: n.SessionConfig, vendor: Vendor, *, output: bool) -> dict[str, Any]:
    rate, encoding = (
        (config.output_sample_rate, config.output_encoding)
        if output
        else (config.input_sample_rate, config.input_encoding)
    )
    if encoding != "pcm16":
        return {"type": _G711_TYPES[encoding]}
    # OpenAI and Azure take PCM at 24 kHz only (the core converts to the rates declared).
    return {"type": "audio/pcm", "rate": rate if vendor == "xai" else 24000}


def _transcription(config: n.SessionConfig, vendor: Vendor, fallback: str | None) -> Any:
    t = config.transcription
    if t is None:
        return {"model": fallback} if fallback else None
    out: dict[str, Any] = {"model": t.model or fallback or _default_transcriber(vendor)}
    if t.language:
        out["language_hint" if vendor == "xai" else "language"] = t.language
    if t.prompt and vendor != "xai":
        out["prompt"] = t.prompt
    return out


def _default_transcriber(vendor: Vendor) -> str:
    return "grok-transcribe" if vendor == "xai" else "gpt-4o-mini-transcribe"


def history_transcriber(vendor: Vendor, configured: str | None) -> str | None:
    """The transcription model the session runs when the client asked for none."""
    if configured is not None:
        return configured or None
    return _default_transcriber(vendor)


def session_update(config: n.SessionConfig, vendor: Vendor, transcriber: str | None) -> bytes:
    """``session.update`` with every setting the session has, in the vendor's shape."""
    voice: Any = {"id": config.voice} if config.custom_voice else config.voice
    if vendor == "xai":
        session: dict[str, Any] = {
            "instructions": config.instructions,
            "turn_detection": _turn_detection(config.turn_detection, vendor),
            "tools": [_tool(t) for t in config.tools],
            "tool_choice": _tool_choice(config.tool_choice),
            "audio": {
                "input": {
                    "format": _format(config, vendor, output=False),
                    "transcription": _transcription(config, vendor, transcriber),
                },
                "output": {"format": _format(config, vendor, output=True)},
            },
        }
        if voice is not None:
            session["voice"] = voice
        if config.speed is not None:
            session["audio"]["output"]["speed"] = config.speed
        if config.reasoning_effort is not None:
            session["reasoning"] = {"effort": config.reasoning_effort}
        return event("session.update", session=session)
    return event("session.update", session=_ga_session(config, vendor, transcriber, voice))


def _ga_session(
    config: n.SessionConfig, vendor: Vendor, transcriber: str | None, voice: Any
) -> dict[str, Any]:
    """The GA session (OpenAI's and Azure's shape)."""
    modalities = ["audio"] if "audio" in config.output_modalities else ["text"]
    audio_in: dict[str, Any] = {
        "format": _format(config, vendor, output=False),
        "transcription": _transcription(config, vendor, transcriber),
        "turn_detection": _turn_detection(config.turn_detection, vendor),
        "noise_reduction": None
        if config.noise_reduction is None
        else {"type": config.noise_reduction},
    }
    audio_out: dict[str, Any] = {"format": _format(config, vendor, output=True)}
    if voice is not None:
        audio_out["voice"] = voice
    if config.speed is not None:
        audio_out["speed"] = config.speed
    session: dict[str, Any] = {
        "type": "realtime",
        "instructions": config.instructions,
        "output_modalities": modalities,
        "audio": {"input": audio_in, "output": audio_out},
        "tools": [_tool(t) for t in config.tools] + [_mcp_tool(m) for m in config.mcp_servers],
        "tool_choice": _tool_choice(config.tool_choice),
        "max_output_tokens": "inf"
        if config.max_output_tokens is None
        else config.max_output_tokens,
    }
    if config.reasoning_effort is not None:
        session["reasoning"] = {"effort": config.reasoning_effort}
    if config.parallel_tool_calls is not None:
        session["parallel_tool_calls"] = config.parallel_tool_calls
    if (t := config.truncation) is not None:
        session["truncation"] = (
            t.type
            if t.type != "retention_ratio"
            else {"type": "retention_ratio", "retention_ratio": t.retention_ratio}
        )
    if config.prompt is not None:
        session["prompt"] = _prompt(config.prompt)
    return session


def _prompt(p: n.PromptRef) -> dict[str, Any]:
    prompt: dict[str, Any] = {"id": p.id}
    if p.version is not None:
        prompt["version"] = p.version
    if p.variables:
        prompt["variables"] = p.variables
    return prompt


def item_payload(item: n.Item, upstream_id: str | None) -> dict[str, Any]:
    """An item as ``conversation.item.create`` takes it. Past audio goes as its transcript
    (a new session cannot take the old one's audio)."""
    out: dict[str, Any] = {}
    if upstream_id is not None:
        out["id"] = upstream_id
    match item:
        case n.Message(role=role, text=text, has_audio=has_audio):
            said = text if text is not None else ("[audio]" if has_audio else "")
            kind = {"user": "input_text", "system": "input_text", "assistant": "output_text"}
            out |= {
                "type": "message",
                "role": role,
                "content": [{"type": kind[role], "text": said}],
            }
        case n.FunctionCall(call_id=call_id, name=name, arguments=arguments):
            out |= {"type": "function_call", "call_id": call_id, "name": name}
            out["arguments"] = arguments
        case n.FunctionCallOutput(call_id=call_id, output=output):
            out |= {"type": "function_call_output", "call_id": call_id, "output": output}
    return out


def item_create(item: n.Item, upstream_id: str | None, previous: str | None) -> bytes:
    fields: dict[str, Any] = {"item": item_payload(item, upstream_id)}
    if previous is not None:
        fields["previous_item_id"] = previous
    return event("conversation.item.create", **fields)


def response_create(
    create: n.CreateResponse,
    session: n.SessionConfig,
    vendor: Vendor,
) -> bytes:
    """``response.create`` with the overrides the client asked for, and the core's id in
    ``metadata`` so that the upstream's ``response.created`` can be matched to it."""
    o = create.options
    response: dict[str, Any] = {"metadata": {"rtcore_response_id": create.response_id}}
    if not create.conversation:
        response["conversation"] = "none"
    if o.output_modalities is not None:
        mods = ["audio"] if "audio" in o.output_modalities else ["text"]
        if vendor == "xai":
            response["modalities"] = ["text", "audio"] if mods == ["audio"] else ["text"]
        else:
            response["output_modalities"] = mods
    if o.instructions is not None:
        response["instructions"] = o.instructions
    if o.voice is not None and vendor != "xai":
        response["audio"] = {"output": {"voice": o.voice}}
    if o.max_output_tokens is not None and vendor != "xai":
        response["max_output_tokens"] = o.max_output_tokens
    if o.tools is not None:
        response["tools"] = [_tool(t) for t in o.tools]
    if o.tool_choice is not None:
        response["tool_choice"] = _tool_choice(o.tool_choice)
    if o.reasoning_effort is not None:
        response["reasoning"] = {"effort": o.reasoning_effort}
    if o.parallel_tool_calls is not None:
        response["parallel_tool_calls"] = o.parallel_tool_calls
    if o.prompt is not None:
        response["prompt"] = _prompt(o.prompt)
    if vendor == "xai":
        response.pop("metadata")
    return event("response.create", response=response)
