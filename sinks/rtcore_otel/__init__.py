"""The ``otel`` logging callback: each realtime session as an OpenTelemetry trace, exported
over OTLP/HTTP (``litellm_settings.callbacks: ["otel"]``; the SDK reads the ``OTEL_*``
environment variables)."""
