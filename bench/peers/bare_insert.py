"""The ingest baseline: parse with orjson and bulk-insert the same rows into SQLite.

This is the least a span store can cost: each span becomes a tuple of the
columns perfkit stores (ids, times, status, service, scope, the normalised
HTTP and SQL fields with new names winning over old, the raw attributes as
JSON) and goes into a table of the same shape, with the same unique key and
index and the same SQLite settings, through ``executemany`` in one
transaction. Nothing is validated and no other format is understood.

    python bench/peers/bare_insert.py FILE DB
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

COLUMNS = [
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "start_ns",
    "end_ns",
    "status_code",
    "status_message",
    "service_name",
    "scope_name",
    "scope_version",
    "http_method",
    "http_route",
    "http_status_code",
    "url",
    "server_address",
    "peer_service",
    "db_system",
    "db_statement",
    "db_operation",
    "db_table",
    "db_namespace",
    "endpoint",
    "composite_count",
    "attributes",
    "resource_attributes",
    "events",
    "links",
]

INTEGER_COLUMNS = frozenset(
    ["kind", "start_ns", "end_ns", "status_code", "http_status_code", "composite_count"]
)
COLUMN_DEFINITIONS = ",\n    ".join(
    f"{name} {'INTEGER' if name in INTEGER_COLUMNS else 'TEXT'}" for name in COLUMNS
)
SCHEMA = f"""
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
PRAGMA cache_size=-65536;
PRAGMA temp_store=MEMORY;
CREATE TABLE spans (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    file_id INTEGER NOT NULL,
    {COLUMN_DEFINITIONS},
    UNIQUE (run_id, trace_id, span_id, kind)
);
CREATE INDEX ix_spans_run_id ON spans (run_id);
"""
INSERT = (
    f"INSERT INTO spans (run_id, file_id, {', '.join(COLUMNS)}) "
    f"VALUES (1, 1, {', '.join('?' * len(COLUMNS))})"
)


def plain(value: dict[str, Any]) -> Any:
    """An OTLP AnyValue as a plain value (strings and integers are enough here)."""
    for key, inner in value.items():
        return int(inner) if key == "intValue" else inner
    return None


def rows(path: Path) -> Iterator[tuple[Any, ...]]:
    with path.open("rb") as file:
        for line in file:
            for resource_spans in orjson.loads(line)["resourceSpans"]:
                resource = {
                    a["key"]: plain(a["value"])
                    for a in resource_spans["resource"]["attributes"]
                }
                service = resource.get("service.name")
                resource_json = orjson.dumps(resource).decode()
                for scope_spans in resource_spans["scopeSpans"]:
                    scope = scope_spans["scope"]
                    for span in scope_spans["spans"]:
                        yield row(span, service, scope, resource_json)


def row(
    span: dict[str, Any], service: str, scope: dict[str, Any], resource_json: str
) -> tuple[Any, ...]:
    attrs = {a["key"]: plain(a["value"]) for a in span.get("attributes", ())}
    get = attrs.get
    kind = span["kind"]
    method = get("http.request.method") or get("http.method")
    route = get("http.route")
    url = get("url.full") or get("http.url") or get("url.path") or get("http.target")
    status = span.get("status", {})
    endpoint = None
    if kind == 2:
        endpoint = f"{method} {route}" if method and route else span["name"]
    return (
        span["traceId"],
        span["spanId"],
        span.get("parentSpanId") or None,
        span["name"],
        kind,
        int(span["startTimeUnixNano"]),
        int(span["endTimeUnixNano"]),
        status.get("code", 0),
        status.get("message"),
        service,
        scope.get("name"),
        scope.get("version"),
        method,
        route,
        get("http.response.status_code") or get("http.status_code"),
        url,
        get("server.address") or get("net.peer.name"),
        get("peer.service"),
        get("db.system.name") or get("db.system"),
        get("db.query.text") or get("db.statement"),
        get("db.operation.name") or get("db.operation"),
        get("db.collection.name") or get("db.sql.table"),
        get("db.namespace") or get("db.name"),
        endpoint,
        1,
        orjson.dumps(attrs, option=orjson.OPT_SORT_KEYS).decode(),
        resource_json,
        "[]",
        "[]",
    )


def main(path: str, db: str) -> int:
    Path(db).unlink(missing_ok=True)
    connection = sqlite3.connect(db)
    connection.executescript(SCHEMA)
    with connection:
        connection.executemany(INSERT, rows(Path(path)))
    (count,) = connection.execute("SELECT count(*) FROM spans").fetchone()
    connection.close()
    print(f"inserted {count:,} spans")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
