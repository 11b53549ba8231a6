"""Time ``read_spans`` on a synthetic OTLP JSON Lines file against orjson alone.

Not a test (pytest does not collect it). Run from the repository root::

    python -m tests.ingest.bench_read [SPANS] [SPANS_PER_LINE]

It writes a file shaped like a FastAPI + SQLAlchemy service's file-exporter
output (a SERVER span, database CLIENT spans, an HTTP CLIENT span; old and new
semantic-convention names; int64 as strings) to a temporary folder, then
prints CPU microseconds per span (best of three) for ``orjson.loads`` of every
line and for ``read_spans``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from perfkit.ingest import read_spans

T0 = 1_700_000_000_000_000_000
SQL = "SELECT authors.id AS authors_id FROM authors WHERE authors.id = ?"


def _attr(key: str, value: str | int) -> dict[str, Any]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def _span(n: int) -> dict[str, Any]:
    trace = f"{n // 10 + 1:032x}"
    start = T0 + n * 1_000_000
    span: dict[str, Any] = {
        "traceId": trace,
        "spanId": f"{n + 1:016x}",
        "flags": 256,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 500_000 + n % 977),
        "status": {"code": 0},
    }
    role = n % 10
    if role == 0:
        span |= {
            "name": "GET /books/{book_id}",
            "kind": 2,
            "attributes": [
                _attr("http.request.method", "GET"),
                _attr("http.route", "/books/{book_id}"),
                _attr("http.response.status_code", 200),
                _attr("url.path", f"/books/{n}"),
                _attr("url.scheme", "http"),
                _attr("server.address", "127.0.0.1"),
                _attr("server.port", 8000),
                _attr("user_agent.original", "python-httpx/0.27"),
            ],
        }
    elif role == 9:
        span |= {
            "name": "GET",
            "kind": 3,
            "parentSpanId": f"{n - role + 1:016x}",
            "attributes": [
                _attr("http.method", "GET"),
                _attr("http.url", f"http://pricing.local/price/{n}"),
                _attr("http.status_code", 200),
            ],
        }
    else:
        span |= {
            "name": "SELECT shop.db",
            "kind": 3,
            "parentSpanId": f"{n - role + 1:016x}",
            "attributes": [
                _attr("db.system", "sqlite"),
                _attr("db.name", "shop.db"),
                _attr("db.statement", SQL),
                _attr("db.operation", "SELECT shop.db"),
                _attr("net.peer.name", "localhost"),
            ],
        }
    return span


def write_file(path: Path, spans: int, per_line: int) -> None:
    """The synthetic JSON Lines file."""
    resource = {
        "attributes": [
            _attr("service.name", "bookshop"),
            _attr("telemetry.sdk.language", "python"),
            _attr("telemetry.sdk.name", "opentelemetry"),
            _attr("telemetry.sdk.version", "1.27.0"),
        ]
    }
    with path.open("wb") as out:
        for first in range(0, spans, per_line):
            chunk = [_span(n) for n in range(first, min(spans, first + per_line))]
            scope = {
                "name": "opentelemetry.instrumentation.fastapi",
                "version": "0.48b0",
            }
            line = {
                "resourceSpans": [
                    {
                        "resource": resource,
                        "scopeSpans": [{"scope": scope, "spans": chunk}],
                    }
                ]
            }
            out.write(orjson.dumps(line) + b"\n")


def _best(run: Callable[[], object], repeats: int = 3) -> float:
    # CPU seconds of the fastest run: wall time is noisy on a shared machine.
    best = float("inf")
    for _ in range(repeats):
        began = time.process_time()
        run()
        best = min(best, time.process_time() - began)
    return best


def main() -> None:
    """Write, then time both ways and print µs per span."""
    spans = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    per_line = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spans.jsonl"
        write_file(path, spans, per_line)
        size = os.path.getsize(path)

        def parse() -> None:
            with path.open("rb") as lines:
                for line in lines:
                    orjson.loads(line)

        def read() -> int:
            return sum(len(batch) for batch in read_spans(path))

        assert read() == spans
        parse_time, read_time = _best(parse), _best(read)

    print(f"{spans} spans, {per_line} a line, {size / spans:.0f} bytes a span")
    print(f"orjson.loads only: {parse_time / spans * 1e6:.2f} us/span (CPU)")
    ratio = read_time / parse_time
    print(
        f"read_spans:        {read_time / spans * 1e6:.2f} us/span (CPU, {ratio:.2f}x)"
    )


if __name__ == "__main__":
    main()
