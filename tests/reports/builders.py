"""Hand-built analyses for the report tests: a realistic one and a hostile one.

The realistic one looks like the demo shop's: five ranked endpoints, one more
with a p95 but outside the top, one with too few requests, and a finding of
each common kind. The hostile one puts markup everywhere a span value can go.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from perfkit.analysis.model import (
    ENDPOINT_COLUMNS,
    Analysis,
    Finding,
    Suggestion,
    finding_id,
)

NAN = float("nan")

#: ``golden(name, text)``, the fixture that checks a golden file.
Golden = Callable[[str, str], None]

#: (endpoint, requests, error_rate, p50, p95, ci_low, ci_high, p99, db_ms,
#: queries, rank); the other columns are derived or constant. Every endpoint
#: with enough requests has a rank; the top five are named in top_endpoints.
_ENDPOINTS: list[tuple[Any, ...]] = [
    (
        "GET /orders/{order_id}",
        1200,
        0.004,
        180.5,
        412.3,
        388.0,
        440.9,
        610.2,
        170.2,
        26.0,
        1,
    ),
    ("GET /products/search", 800, 0.0, 95.0, 356.0, 330.1, 371.4, 402.8, 120.4, 2.0, 2),
    ("POST /checkout", 300, 0.0233, 150.2, 290.7, 270.0, 318.5, 351.0, 12.5, 4.0, 3),
    (
        "GET /users/{user_id}/recommendations",
        450,
        0.0,
        88.1,
        150.0,
        141.2,
        163.9,
        190.3,
        3.1,
        1.0,
        4,
    ),
    (
        "GET /products/{product_id}",
        2100,
        0.0,
        12.4,
        35.2,
        33.0,
        37.9,
        51.6,
        9.8,
        4.0,
        5,
    ),
    ("GET /health", 5000, 0.0, 0.9, 2.1, 1.9, 2.4, 3.3, 0.0, 0.0, 6),
    ("POST /admin/reindex", 3, 0.0, 1510.0, NAN, NAN, NAN, NAN, 1400.0, 12.0, None),
]


def endpoint_frame(rows: list[tuple[Any, ...]], service: str = "shop") -> pd.DataFrame:
    """An endpoints frame with exactly ENDPOINT_COLUMNS, from compact rows."""
    records = []
    for endpoint, requests, errors, p50, p95, low, high, p99, db, queries, rank in rows:
        # The checkout waits on a payment provider; the rest call nothing out.
        external = 120.0 if endpoint == "POST /checkout" else 0.0
        mean = max(p50 * 1.1, db + external + 5.0)
        records.append(
            {
                "service": service,
                "endpoint": endpoint,
                "requests": requests,
                "throughput_rps": requests / 600,
                "error_rate": errors,
                "client_error_rate": 0.0,
                "p50_ms": p50,
                "p95_ms": p95,
                "p95_ci_low_ms": low,
                "p95_ci_high_ms": high,
                "p99_ms": p99,
                "mean_ms": mean,
                "db_ms_per_request": db,
                "external_ms_per_request": external,
                "self_ms_per_request": mean - db - external,
                "queries_per_request": queries,
                "external_calls_per_request": 0.0,
                "enough_data": requests >= 20,
                "rank": rank,
            }
        )
    frame = pd.DataFrame.from_records(records, columns=list(ENDPOINT_COLUMNS))
    frame["requests"] = frame["requests"].astype("int64")
    frame["rank"] = frame["rank"].astype("Int64")
    return frame


def finding(
    kind: str,
    endpoint: str,
    severity: Any,
    title: str,
    evidence: dict[str, Any],
    suggestion: Suggestion,
    *,
    saved: float,
    requests: int,
    service: str = "shop",
) -> Finding:
    """A finding with a stable id from its kind, endpoint and title."""
    return Finding(
        id=finding_id(kind, service, endpoint, title),
        kind=kind,
        service=service,
        endpoint=endpoint,
        severity=severity,
        title=title,
        evidence=evidence,
        suggestion=suggestion,
        saved_ms_per_request=saved,
        saved_ms_total=saved * requests,
        requests_affected=requests,
    )


MIGRATION = '''\
"""Add an index on products.category_id."""

from alembic import op

revision = "0002_ix_products_category_id"
down_revision = "0001_initial"


def upgrade() -> None:
    op.create_index("ix_products_category_id", "products", ["category_id"])


def downgrade() -> None:
    op.drop_index("ix_products_category_id", table_name="products")
'''


def shop_findings() -> list[Finding]:
    """One finding of each common kind, most severe first."""
    return [
        finding(
            "missing_index",
            "GET /products/search",
            "critical",
            "Full scan of products for every search",
            {
                "statement": "SELECT products.id, products.name FROM products "
                "WHERE products.category_id = ? ORDER BY products.name LIMIT ?",
                "table": "products",
                "columns": ["category_id"],
                "plan": ["SCAN products", "USE TEMP B-TREE FOR ORDER BY"],
                "calls": 800,
                "count_per_request": 1.0,
                "total_ms": 120.4,
                "p95_ms": 151.0,
                "mean_ms": 120.4,
                "example_trace_id": "0af7651916cd43dd8448eb211c80319c",
                "source": "query plan",
                "requests_affected": 800,
                "endpoint_requests": 800,
                "share_of_endpoint": 0.9,
            },
            Suggestion(
                summary="Add an index on products (category_id)",
                detail="The search filters on `category_id`, which has no index.",
                code="CREATE INDEX ix_products_category_id ON products (category_id);",
                files={
                    "migrations/versions/0002_ix_products_category_id.py": MIGRATION
                },
            ),
            saved=110.0,
            requests=800,
        ),
        finding(
            "n_plus_one_query",
            "GET /orders/{order_id}",
            "high",
            "25 queries for an order's items, one per item",
            {
                "statement": "SELECT order_items.id, order_items.quantity "
                "FROM order_items WHERE order_items.id = ?",
                "fingerprint": "ef78c84992d6e677",
                "table": "order_items",
                "parent_span": "GET /orders/{order_id}",
                "count_per_request": 25,
                "max_count_per_request": 31,
                "total_ms": 145.0,
                "wall_ms": 145.0,
                "overlapping": False,
                "parameters": "differ",
                "distinct_parameter_sets": 25,
                "example_trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                "batched_statement": "SELECT order_items.id, order_items.quantity "
                "FROM order_items WHERE order_items.id IN (?, ?, ...)",
                "requests_affected": 1200,
                "endpoint_requests": 1200,
                "share_of_endpoint": 0.7303,
            },
            Suggestion(
                summary="Load the items with the order in one query",
                detail="Each item is loaded lazily in a loop.",
                code="select(Order).options(selectinload(Order.items))",
            ),
            saved=140.5,
            requests=1200,
        ),
        finding(
            "slow_external_call",
            "POST /checkout",
            "medium",
            "The payment provider takes 61% of checkout",
            {
                "host": "payments.example.test",
                "url_templates": [
                    "https://payments.example.test/v1/charges?api_key=k3y",
                    "https://payments.example.test/v1/refunds",
                ],
                "calls": 300,
                "count_per_request": 1.0,
                "p95_ms": 290.7,
                "total_ms": 178.0,
                "queue_wait_ms": 12.5,
                "sequential": True,
                "see_also": [],
                "example_trace_id": "d4cda95b652f4a1592b449d5929fda1b",
                "requests_affected": 300,
                "endpoint_requests": 300,
                "share_of_endpoint": 0.61,
            },
            Suggestion(
                summary="Set a timeout and retry budget on the payment call",
                detail="Slow calls to payments.example.test hold the request open.",
            ),
            saved=60.0,
            requests=300,
        ),
        finding(
            "redundant_query",
            "GET /products/{product_id}",
            "low",
            "The same settings row is read 3 times per request",
            {
                "count_per_request": 3,
                "max_count_per_request": 5,
                "total_ms": 1.8,
                "parameters": "identical",
                "statement": "SELECT settings.value FROM settings "
                "WHERE settings.key = ?",
                "requests_affected": 2100,
                "endpoint_requests": 2100,
                "share_of_endpoint": 0.0512,
            },
            Suggestion(summary="Read the setting once per request and reuse it"),
            saved=1.2,
            requests=2100,
        ),
    ]


def shop_analysis() -> Analysis:
    """The realistic analysis; version and creation time left to be filled in."""
    return Analysis(
        run_label="before",
        inputs=["sample_traces/before"],
        spans=48_213,
        endpoints=endpoint_frame(_ENDPOINTS),
        top_endpoints=[row[0] for row in _ENDPOINTS[:5]],
        findings=shop_findings(),
        warnings=[
            "POST /admin/reindex has 3 requests, fewer than the 20 a p95 needs; "
            "it is listed but not ranked."
        ],
    )


SCRIPT = "<script>alert(1)</script>"
PIPE_ENDPOINT = f"GET /search|{SCRIPT}"


def hostile_analysis() -> Analysis:
    """Markup, pipes, backticks and newlines in every span-derived value."""
    endpoint = PIPE_ENDPOINT
    row = (endpoint, 100, 0.0, 10.0, 20.0, 18.0, 22.0, 30.0, 1.0, 1.0, 1)
    evil = finding(
        "n_plus_one_query",
        endpoint,
        "high",
        "N+1 on `x` | *bold* [link](http://evil.test) <b>b</b>\n# heading",
        {
            "statement": "SELECT '</code></pre><script>alert(2)</script>' -- ```",
            "table": "t|<i>x</i>",
            "example_trace_id": "`tick`",
        },
        Suggestion(
            summary="Use `x`\n| injected | row |",
            detail="<img src=x onerror=alert(3)>",
            code="```\n</pre><script>alert(4)</script>",
        ),
        saved=5.0,
        requests=100,
        service="shop<svc>",
    )
    return Analysis(
        run_label="<img src=x onerror=alert(5)>",
        inputs=["postgresql://app:s3cret@db.internal/shop", "traces/a|b.json"],
        spans=10,
        endpoints=endpoint_frame([row], service="shop<svc>"),
        top_endpoints=[endpoint],
        findings=[evil],
        warnings=["first line\n# not a heading <script>x</script>"],
        perfkit_version="9.9.9",
        created_at="2024-05-01T12:00:00+00:00",
    )
