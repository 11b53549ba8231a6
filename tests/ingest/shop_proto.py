"""The spans of ``otlp_shop.json``, built with the opentelemetry-proto classes.

Written out field by field, not converted from the JSON fixture, so that the
protobuf reader is checked against an independent encoding of the same spans.
"""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    InstrumentationScope,
    KeyValue,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import (
    ResourceSpans,
    ScopeSpans,
    Span,
    Status,
)

TRACE = bytes.fromhex("5b8efff798038103d269b633813fc60c")
SERVER = bytes.fromhex("eee19b7ec3c1b174")
T0 = 1_700_000_000_000_000_000


def kv(key: str, value: str | int) -> KeyValue:
    """One attribute."""
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def shop_spans() -> tuple[list[Span], list[Span]]:
    """The FastAPI scope's spans and the SQLAlchemy scope's span."""
    server = Span(
        trace_id=TRACE,
        span_id=SERVER,
        name="GET /books/{book_id}",
        kind=Span.SPAN_KIND_SERVER,
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 250_000_000,
        attributes=[
            kv("http.request.method", "GET"),
            kv("http.route", "/books/{book_id}"),
            kv("http.response.status_code", 200),
            kv("url.path", "/books/42"),
            kv("url.query", "format=json"),
            kv("server.address", "shop.local"),
        ],
    )
    client = Span(
        trace_id=TRACE,
        span_id=bytes.fromhex("c8f7a2b4d1e09f63"),
        parent_span_id=SERVER,
        name="POST",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=T0 + 100_000_000,
        end_time_unix_nano=T0 + 200_000_000,
        attributes=[
            kv("http.method", "POST"),
            kv("http.url", "https://pay.example.com/charge?id=7"),
            kv("http.status_code", 502),
            kv("peer.service", "payments"),
        ],
        events=[Span.Event(time_unix_nano=T0 + 150_000_000, name="retry")],
        status=Status(code=Status.STATUS_CODE_ERROR, message="Bad Gateway"),
    )
    render = Span(
        trace_id=TRACE,
        span_id=bytes.fromhex("00f067aa0ba902b7"),
        parent_span_id=SERVER,
        name="render",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=T0 + 200_000_000,
        end_time_unix_nano=T0 + 240_000_000,
        attributes=[kv("template", "book.html"), kv("items", 3)],
        links=[
            Span.Link(
                trace_id=bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736"),
                span_id=bytes.fromhex("53995c3f42cd8ad8"),
            )
        ],
        status=Status(code=Status.STATUS_CODE_OK),
    )
    query = Span(
        trace_id=TRACE,
        span_id=bytes.fromhex("b7ad6b7169203331"),
        parent_span_id=SERVER,
        name="SELECT shop",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=T0 + 10_000_000,
        end_time_unix_nano=T0 + 30_000_000,
        attributes=[
            kv("db.system", "postgresql"),
            kv("db.statement", "SELECT * FROM books WHERE id = %s"),
            kv("db.name", "shop"),
            kv("db.operation", "SELECT"),
            kv("db.sql.table", "books"),
            kv("net.peer.name", "db.internal"),
        ],
    )
    return [server, client, render], [query]


def shop_request(
    fastapi: list[Span] | None = None, sqlalchemy: list[Span] | None = None
) -> ExportTraceServiceRequest:
    """An export request holding the given spans (all of the shop's by default)."""
    if fastapi is None and sqlalchemy is None:
        fastapi, sqlalchemy = shop_spans()
    scopes = []
    for name, spans in (
        ("opentelemetry.instrumentation.fastapi", fastapi),
        ("opentelemetry.instrumentation.sqlalchemy", sqlalchemy),
    ):
        if spans:
            scope = InstrumentationScope(name=name, version="0.48b0")
            scopes.append(ScopeSpans(scope=scope, spans=spans))
    resource = Resource(attributes=[kv("service.name", "shop")])
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=scopes)]
    )
