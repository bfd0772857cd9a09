"""Registers the ``otel`` callback, as any third-party plugin would. Nothing of the SDK is
imported until a config turns the callback on."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

import rtcore
from rtcore.callbacks import CallbackSpec, SessionSink

if TYPE_CHECKING:
    from rtcore.serve_settings import ServeSettings


def _open(settings: ServeSettings) -> AbstractAsyncContextManager[SessionSink]:
    from rtcore_otel.exporting import open_tracing

    return open_tracing(settings)


@rtcore.hookimpl
def rtcore_register_callbacks() -> list[CallbackSpec]:
    return [
        CallbackSpec(
            name="otel",
            open=_open,
            description="each session as an OpenTelemetry trace (OTLP/HTTP)",
        )
    ]
