"""Read a recording back, request by request, to check it against the key.

This is a small, strict reader of the OTLP JSON Lines the shop exports, for
the recorder's own tests; perfkit's readers are the real ones. Each trace of a
recording is one request: the driver sends no trace context, so every trace
has exactly one SERVER span, and its database and supplier calls are CLIENT
spans below it.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

SERVER, CLIENT = 2, 3


@dataclass
class Span:
    """The fields of one span the checks need."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    start_ns: int
    end_ns: int
    status_code: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    events: list[str]

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


@dataclass
class Request:
    """One request: its SERVER span and the calls made under it."""

    server: Span
    statements: list[str] = field(default_factory=list)
    supplier_urls: list[str] = field(default_factory=list)
    supplier_ms: list[float] = field(default_factory=list)
    spans: int = 0

    @property
    def endpoint(self) -> str:
        return self.server.name

    @property
    def http_status(self) -> int:
        return int(self.server.attributes["http.status_code"])


def read_spans(path: str | Path) -> Iterator[Span]:
    """Every span of an OTLP JSON Lines file, gzipped or not."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as lines:
        for line in lines:
            for block in orjson.loads(line)["resourceSpans"]:
                resource = _attributes(block["resource"]["attributes"])
                for scope in block["scopeSpans"]:
                    for span in scope["spans"]:
                        yield _span(span, resource)


def read_requests(path: str | Path) -> list[Request]:
    """The recording at ``path`` as one :class:`Request` per trace."""
    return group_requests(read_spans(path))


def group_requests(spans: Iterable[Span]) -> list[Request]:
    """One :class:`Request` per trace of ``spans``."""
    by_trace: dict[str, list[Span]] = {}
    for span in spans:
        by_trace.setdefault(span.trace_id, []).append(span)

    requests = []
    for trace_id, spans in by_trace.items():
        servers = [span for span in spans if span.kind == SERVER]
        if len(servers) != 1:
            raise ValueError(f"trace {trace_id} has {len(servers)} SERVER spans")
        request = Request(server=servers[0], spans=len(spans))
        for span in sorted(spans, key=lambda span: span.start_ns):
            if span.kind != CLIENT:
                continue
            if "db.statement" in span.attributes:
                request.statements.append(span.attributes["db.statement"])
            elif "http.url" in span.attributes:
                request.supplier_urls.append(span.attributes["http.url"])
                request.supplier_ms.append(span.duration_ms)
        requests.append(request)
    return requests


def _span(span: dict[str, Any], resource: dict[str, Any]) -> Span:
    return Span(
        trace_id=span["traceId"],
        span_id=span["spanId"],
        parent_span_id=span.get("parentSpanId", ""),
        name=span["name"],
        kind=span.get("kind", 0),
        start_ns=int(span["startTimeUnixNano"]),
        end_ns=int(span["endTimeUnixNano"]),
        status_code=span.get("status", {}).get("code", 0),
        attributes=_attributes(span.get("attributes", [])),
        resource=resource,
        events=[event["name"] for event in span.get("events", [])],
    )


def _attributes(items: list[dict[str, Any]]) -> dict[str, Any]:
    values = {}
    for item in items:
        ((kind, value),) = item["value"].items()
        values[item["key"]] = int(value) if kind == "intValue" else value
    return values
