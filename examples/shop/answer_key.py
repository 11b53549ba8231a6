"""The answer key: which problem sits on which endpoint, before and after.

:data:`ENDPOINTS` is the key itself, one entry per endpoint (keyed by the
SERVER span name, ``"<METHOD> <route>"``). ``problem`` is the kind of problem
the ``before`` run seeds there, or ``"healthy"``; ``after`` says what the
``after`` run did to it: ``"fixed"``, ``"healthy"`` or ``"regression"``.
``expected_findings`` lists the problem kinds an analysis of each run must
report on the endpoint; ``tolerated_findings`` those it may report without a
false positive. The per-request counts are what a request of that endpoint
runs: SQL statements (``db.statement`` spans, not ``connect`` spans) and
supplier calls, each as ``[min, max]``. :func:`build` adds what each
recording measured and ``record`` writes the result to
``sample_traces/answer_key.json``.
"""

from __future__ import annotations

from typing import Any

from examples.shop.driver import HOT_PRODUCTS, MIX
from examples.shop.endpoints import LOYALTY_DISCOUNT
from examples.shop.seed import ITEMS_PER_ORDER, TIERS
from examples.shop.supplier import ERROR_RATE, LATENCY

SCHEMA_VERSION = 1
PROBLEM_KINDS = (
    "n_plus_one_query",
    "missing_index",
    "slow_external_call",
    "n_plus_one_http",
    "serialization",
)
MIGRATIONS = "examples/shop/migrations/versions/"
#: Orders listed by GET /orders/recent (its default ``limit``).
RECENT_ORDERS = 30
#: Share of POST /orders that fail after the regression: the platinum tier.
REGRESSION_ERROR_RATE = TIERS["platinum"]


def _entry(
    problem: str,
    after: str,
    queries: tuple[tuple[int, int], tuple[int, int]],
    supplier_calls: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0)),
    tolerated: tuple[str, ...] = (),
    **notes: str,
) -> dict[str, Any]:
    return {
        "problem": problem,
        "after": after,
        # What an analysis must report on this endpoint, per run...
        "expected_findings": {
            "before": [] if problem == "healthy" else [problem],
            "after": [],
        },
        # ...and what it may report without it being a false positive.
        "tolerated_findings": {"before": list(tolerated), "after": list(tolerated)},
        "queries_per_request": {"before": list(queries[0]), "after": list(queries[1])},
        "supplier_calls_per_request": {
            "before": list(supplier_calls[0]),
            "after": list(supplier_calls[1]),
        },
        **notes,
    }


ENDPOINTS: dict[str, dict[str, Any]] = {
    "GET /orders/recent": _entry(
        "n_plus_one_query",
        "fixed",
        ((RECENT_ORDERS + 1, RECENT_ORDERS + 1), (2, 2)),
        cause=(
            f"lists the {RECENT_ORDERS} newest orders, then order.items lazy-loads "
            "each order's items: one SELECT ... FROM order_items WHERE "
            "? = order_items.order_id per order"
        ),
        fix="selectinload(Order.items): one more SELECT with order_id IN (...)",
    ),
    "GET /products/{product_id}/sales": _entry(
        "missing_index",
        "fixed",
        ((1, 1), (1, 1)),
        cause=(
            "WHERE order_items.product_id = ? on the biggest table, which has no "
            "index on product_id: SQLite plans SCAN order_items"
        ),
        fix=(
            "migration 0002 creates ix_order_items_product_id: SEARCH order_items "
            "USING INDEX; the SQL text is the same in both runs"
        ),
    ),
    "GET /products/{product_id}/price": _entry(
        "slow_external_call",
        "fixed",
        ((1, 1), (1, 1)),
        ((1, 1), (0, 1)),
        cause="asks the supplier for the price on every request (100-400 ms)",
        fix=(
            "prices are cached for ten minutes; the driver asks for "
            f"{HOT_PRODUCTS} popular products, so only the first ask of each waits"
        ),
    ),
    "GET /orders/{order_id}/availability": _entry(
        "n_plus_one_http",
        "fixed",
        ((1, 1), (1, 1)),
        (ITEMS_PER_ORDER, (1, 1)),
        tolerated=("slow_external_call",),
        cause="one GET /stock/{sku} to the supplier per order item, one after another",
        fix="one batched GET /stock?sku=...&sku=... per order",
        remains=(
            "the batched call still waits 120-300 ms for the supplier on every "
            "request, so a slow_external_call finding here is true in both runs"
        ),
    ),
    "GET /catalog/export": _entry(
        "serialization",
        "fixed",
        ((1, 1), (1, 1)),
        cause=(
            "returns every product as nested dicts holding Decimal and datetime "
            "values; FastAPI's jsonable_encoder walks them in pure Python and "
            "takes most of the request's time"
        ),
        fix="the same entries encoded with orjson straight into the Response",
    ),
    "GET /healthz": _entry("healthy", "healthy", ((0, 0), (0, 0))),
    "GET /products/{product_id}": _entry(
        "healthy", "healthy", ((1, 1), (1, 1)), note="one SELECT with a JOIN"
    ),
    "GET /products/compare": _entry(
        "healthy",
        "healthy",
        ((2, 2), (2, 2)),
        note="the same SELECT twice with two different ids, legitimately",
    ),
    "GET /cart/summary": _entry(
        "healthy",
        "healthy",
        ((1, 1), (1, 1)),
        note="one SELECT ... WHERE products.id IN (?, ...) for 2 to 8 products",
    ),
    "POST /orders": _entry(
        "healthy",
        "regression",
        ((3, 3), (2, 4)),
        note=(
            "the write path: SELECT products IN (...), INSERT orders, one "
            "executemany INSERT order_items"
        ),
        regression=(
            "release 1.1.0 adds a loyalty discount: one more SELECT customers per "
            "order (4 statements), and a KeyError, so a 500, for every platinum "
            "customer (2 statements before the crash)"
        ),
    ),
}


def build(runs: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The whole answer key, with the measured ``runs`` if given."""
    return {
        "schema_version": SCHEMA_VERSION,
        "service": "shop",
        "problem_kinds": list(PROBLEM_KINDS),
        "endpoints": ENDPOINTS,
        "fixed_in_after": sorted(
            name for name, entry in ENDPOINTS.items() if entry["after"] == "fixed"
        ),
        "regression": {
            "endpoint": "POST /orders",
            "kinds": ["error_rate", "extra_query"],
            "expected_error_rate": REGRESSION_ERROR_RATE,
            "error": "KeyError: 'platinum'",
            "loyalty_discount_percent": LOYALTY_DISCOUNT,
            "queries_per_request": {"before": 3, "after": 4},
        },
        "missing_index": {
            "endpoint": "GET /products/{product_id}/sales",
            "table": "order_items",
            "column": "product_id",
            "index_added_in_after": "ix_order_items_product_id",
            "migration": MIGRATIONS + "0002_index_order_items_product_id.py",
        },
        "database": {
            "system": "sqlite",
            "big_table": "order_items",
            "build": "python -m examples.shop seed --variant {variant} --db {path}",
            "default_paths": {
                "before": "examples/shop/shop-before.db",
                "after": "examples/shop/shop-after.db",
            },
        },
        "external_service": {
            "name": "supplier",
            "host": "127.0.0.1",
            "port": "chosen per recording; see runs.<variant>.supplier",
            "routes": {
                "GET /prices/{sku}": "price",
                "GET /stock/{sku}": "stock",
                "GET /stock": "stock_batch",
            },
            "latency_seconds": {
                kind: {"low": low, "high": high, "mode": mode}
                for kind, (low, high, mode) in LATENCY.items()
            },
            "error_rate": ERROR_RATE,
            "error_status": 503,
        },
        "request_mix": {name: weight for name, (weight, _) in MIX.items()},
        "runs": runs or {},
    }
