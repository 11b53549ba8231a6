"""OpenTelemetry set-up for the shop, done the way the SDK's docs show it.

Spans go to an OTLP JSON Lines file through the SDK's ``FileSpanExporter``
(package ``opentelemetry-exporter-otlp-json-file``), behind a batch processor.
Its queue is made large enough that a burst of N+1 queries under load drops no
span: a recording whose span counts do not add up is worthless as a sample.
"""

from __future__ import annotations

from pathlib import Path

from opentelemetry import trace
from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

SERVICE_NAME = "shop"


def setup_tracing(
    traces_path: str | Path | None, *, service_version: str
) -> TracerProvider:
    """Make the global tracer provider, exporting to ``traces_path`` if given."""
    resource = Resource.create(
        {
            "service.name": SERVICE_NAME,
            "service.version": service_version,
            "deployment.environment.name": "demo",
        }
    )
    provider = TracerProvider(resource=resource)
    if traces_path is not None:
        processor = BatchSpanProcessor(
            FileSpanExporter(traces_path),
            max_queue_size=200_000,
            schedule_delay_millis=1_000,
            max_export_batch_size=512,
        )
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    return provider
