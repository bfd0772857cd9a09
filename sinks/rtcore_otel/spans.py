"""A session's record as spans: one per session, a child per response, with the GenAI
semantic conventions' attributes and rtcore's own. No key nor its hash is ever put in a
span, and what the model said only when the operator asked for content."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from rtcore.keys.usage import ResponseRecord, SessionRecord
from rtcore.provider.messages import Usage

# The GenAI conventions' gen_ai.provider.name for rtcore's providers; a provider not listed
# (a third-party plugin) is named by its plugin name.
PROVIDER_NAMES: Mapping[str, str] = {
    "bedrock-sonic": "aws.bedrock",
    "gemini-live": "gcp.gemini",
    "vertex-ai-live": "gcp.vertex_ai",
    "openai-realtime": "openai",
    "azure-realtime": "azure.ai.openai",
    "xai-realtime": "x_ai",
}
# A realtime session is no operation the conventions name; each response is a "chat" turn
# over the session's conversation.
SESSION_OPERATION = "realtime"
RESPONSE_OPERATION = "chat"
# How a session ends without anything having gone wrong.
CLEAN_ENDS = frozenset({"client_closed"})


def _ns(moment: datetime.datetime) -> int:
    return int(moment.timestamp() * 1_000_000_000)


def _usage(usage: Usage) -> dict[str, AttributeValue]:
    return {
        "gen_ai.usage.input_tokens": usage.input_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
        "gen_ai.usage.cache_read.input_tokens": usage.cached_tokens,
        "rtcore.usage.input_text_tokens": usage.input_text_tokens,
        "rtcore.usage.input_audio_tokens": usage.input_audio_tokens,
        "rtcore.usage.output_text_tokens": usage.output_text_tokens,
        "rtcore.usage.output_audio_tokens": usage.output_audio_tokens,
        "rtcore.usage.cached_audio_tokens": usage.cached_audio_tokens,
    }


def _provider(record: SessionRecord) -> dict[str, AttributeValue]:
    name = PROVIDER_NAMES.get(record.provider, record.provider or "unknown")
    # gen_ai.system is the conventions' name for it before 1.37; backends still read it.
    return {"gen_ai.provider.name": name, "gen_ai.system": name}


def session_attributes(record: SessionRecord) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        "gen_ai.operation.name": SESSION_OPERATION,
        **_provider(record),
        "gen_ai.request.model": record.model,
        "gen_ai.response.model": record.model,
        "gen_ai.conversation.id": record.request_id,
        **_usage(record.usage),
        "rtcore.session.id": record.request_id,
        "rtcore.model_group": record.model_group,
        "rtcore.deployment": record.deployment,
        "rtcore.provider": record.provider,
        "rtcore.end_reason": record.end_reason,
        "rtcore.spend": record.spend,
        "rtcore.audio.input_seconds": record.audio_seconds_in,
        "rtcore.audio.output_seconds": record.audio_seconds_out,
        "rtcore.responses": len(record.responses),
    }
    if record.key_alias is not None:
        attributes["rtcore.key_alias"] = record.key_alias
    if record.end_reason not in CLEAN_ENDS:
        attributes["error.type"] = record.end_reason
    return attributes


def response_attributes(
    record: SessionRecord, response: ResponseRecord, *, content: bool = False
) -> dict[str, AttributeValue]:
    finish = response.reason or response.status
    attributes: dict[str, AttributeValue] = {
        "gen_ai.operation.name": RESPONSE_OPERATION,
        **_provider(record),
        "gen_ai.request.model": response.model,
        "gen_ai.response.model": response.model,
        "gen_ai.response.id": response.response_id,
        "gen_ai.response.finish_reasons": (finish,),
        "gen_ai.conversation.id": record.request_id,
        **_usage(response.usage),
        "rtcore.session.id": record.request_id,
        "rtcore.deployment": response.deployment,
        "rtcore.response.status": response.status,
    }
    if response.reason is not None:
        attributes["rtcore.response.reason"] = response.reason
    if response.status == "failed":
        attributes["error.type"] = response.reason or "failed"
    if content and response.output_text is not None:
        message = {
            "role": "assistant",
            "parts": [{"type": "text", "content": response.output_text}],
            "finish_reason": finish,
        }
        attributes["gen_ai.output.messages"] = json.dumps([message], ensure_ascii=False)
    return attributes


def session_spans(tracer: Tracer, record: SessionRecord, *, content: bool = False) -> None:
    """The session's trace, its spans ended at the times the record holds (``content``:
    each response span says what the model said)."""
    session = tracer.start_span(
        f"{SESSION_OPERATION} {record.model}",
        kind=SpanKind.SERVER,
        attributes=session_attributes(record),
        start_time=_ns(record.start_time),
    )
    if record.end_reason not in CLEAN_ENDS:
        session.set_status(Status(StatusCode.ERROR, record.end_reason))
    parent = trace.set_span_in_context(session)
    for response in record.responses:
        span = tracer.start_span(
            f"{RESPONSE_OPERATION} {response.model}",
            context=parent,
            kind=SpanKind.CLIENT,
            attributes=response_attributes(record, response, content=content),
            start_time=_ns(response.start_time),
        )
        if response.status == "failed":
            span.set_status(Status(StatusCode.ERROR, response.reason or "failed"))
        span.end(end_time=_ns(response.end_time))
    session.end(end_time=_ns(record.end_time))
