"""The tracer provider of one serving process: built from the ``OTEL_*`` environment
variables by the SDK itself, spans batched and exported on the SDK's own thread, flushed
when serving ends."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rtcore.callbacks import SessionSink
from rtcore.keys.usage import SessionRecord
from rtcore.serve_settings import ServeError, ServeSettings

DEFAULT_SERVICE_NAME = "rtcore"
PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
SUPPORTED_PROTOCOL = "http/protobuf"
# OpenTelemetry's GenAI instrumentations' switch for conversation content: off unless set.
CAPTURE_VARIABLE = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
CAPTURE_ON = frozenset({"true", "span_only", "span_and_event"})


def capture_content() -> bool:
    return os.environ.get(CAPTURE_VARIABLE, "").strip().lower() in CAPTURE_ON


def _check_protocol() -> None:
    for variable in PROTOCOL_VARIABLES:
        value = os.environ.get(variable)
        if value:
            if value != SUPPORTED_PROTOCOL:
                raise ServeError(
                    f"{variable}={value!r}: the otel callback exports OTLP over HTTP "
                    f"({SUPPORTED_PROTOCOL}) only"
                )
            return


@asynccontextmanager
async def open_tracing(settings: ServeSettings) -> AsyncIterator[SessionSink]:
    """The ``otel`` callback for one serving process."""
    _check_protocol()
    content = capture_content()
    if content:
        settings.response_text = True
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise ServeError(
            "litellm_settings.callbacks names otel, which needs the OpenTelemetry SDK: "
            f"pip install 'rtcore[otel]' ({exc})"
        ) from None
    from rtcore_otel.spans import session_spans

    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win; without them the service is rtcore
    # rather than the SDK's "unknown_service".
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    # Endpoint, headers, timeout, compression, certificates, batching and sampling: the
    # SDK's own OTEL_* variables.
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    tracer = provider.get_tracer("rtcore_otel")

    def sink(record: SessionRecord) -> None:
        # Spans are made once the session is over, from its record, with the times it
        # holds: nothing is traced while audio flows, and the export is the SDK's thread's.
        session_spans(tracer, record, content=content)

    try:
        yield sink
    finally:
        # Blocking: the last batch goes out (bounded by the exporter's own timeout).
        await asyncio.to_thread(provider.shutdown)
