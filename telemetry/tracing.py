"""Optional OpenTelemetry tracing: spans for HTTP requests, GraphQL operations and SQL
statements, sent over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT.

Off unless that endpoint is set; then the `tracing` extra must be installed
(`uv sync --extra tracing`). While off, nothing of OpenTelemetry is imported and each hook
below costs one test of a module flag. The trace id of the current span goes into the logs
next to the request id (`web/logs.py`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from settings import Settings

SERVICE_NAME = "orderly"
_provider: Any = None  # the TracerProvider, once configured
_tracer: Any = None


class TracingUnavailable(RuntimeError):
    """OTEL_EXPORTER_OTLP_ENDPOINT is set but the `tracing` extra is not installed."""


def configure(settings: Settings, exporter: Any = None) -> Any:
    """Start tracing to `settings.otel_endpoint` (or to `exporter`, for tests); returns the
    TracerProvider, or None when tracing is off."""
    global _provider, _tracer
    if not settings.otel_endpoint and exporter is None:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as error:
        raise TracingUnavailable(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set: install the tracing extra "
            "(uv sync --extra tracing)"
        ) from error
    if exporter is None:
        exporter = OTLPSpanExporter(endpoint=settings.otel_endpoint.rstrip("/") + "/v1/traces")
    provider = TracerProvider(resource=Resource.create({"service.name": settings.otel_service}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _provider, _tracer = provider, provider.get_tracer("orderly")
    return provider


def asgi_middleware(provider: Any) -> tuple[Any, dict[str, Any]]:
    """The ASGI middleware that makes a span of each HTTP request, and its options."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware, {
        "tracer_provider": provider,
        "exclude_spans": ["receive", "send"],
    }


@contextlib.contextmanager
def span(name: str, **attributes: str) -> Iterator[Any]:
    """A span around the block, current within it, when tracing is on (else None)."""
    if _tracer is None:
        yield None
        return
    with _tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current


def rename(current: Any, name: str, **attributes: str) -> None:
    """Name a span once what it covers is known."""
    if current is not None:
        current.update_name(name)
        current.set_attributes(attributes)


def start_span(name: str, **attributes: str) -> Any:
    """A span started now (for SQL statements, ended by `end_span`), or None."""
    if _tracer is None:
        return None
    return _tracer.start_span(name, attributes=attributes)


def end_span(started: Any) -> None:
    if started is not None:
        started.end()


def current_trace_id() -> str | None:
    """The trace id of the current span, as 32 hex digits, or None."""
    if _tracer is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def flush() -> None:
    """Send the spans still waiting."""
    if _provider is not None:
        _provider.force_flush()


def shutdown() -> None:
    """Send the spans still waiting and stop tracing (at the end of the process's app)."""
    global _provider, _tracer
    if _provider is not None:
        _provider.shutdown()
    _provider = _tracer = None
