"""DuckDB: read the OTLP JSON Lines file and compute p95 by span name in one query.

The query a competent DuckDB user writes: let ``read_json`` work out the
schema, unnest resource spans, scope spans and spans, and aggregate.

    python bench/peers/duckdb_p95.py FILE
"""

from __future__ import annotations

import sys

import duckdb

QUERY = """
WITH spans AS (
    SELECT unnest(scope_spans.spans) AS span
    FROM (
        SELECT unnest(resource_spans.scopeSpans) AS scope_spans
        FROM (
            SELECT unnest(resourceSpans) AS resource_spans
            FROM read_json($path, format = 'newline_delimited')
        )
    )
)
SELECT
    span.name,
    count(*) AS spans,
    quantile_cont(
        (span.endTimeUnixNano::BIGINT - span.startTimeUnixNano::BIGINT) / 1e6, 0.95
    ) AS p95_ms
FROM spans
GROUP BY span.name
ORDER BY p95_ms DESC
"""


def main(path: str) -> int:
    rows = duckdb.connect().execute(QUERY, {"path": path}).fetchall()
    for name, spans, p95_ms in rows[:5]:
        print(f"{name:50} {spans:>9,} {p95_ms:10.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
