"""Write a large synthetic OTLP JSON Lines file shaped like a load test's traffic.

Three services answer a dozen endpoints. Every request is a SERVER span with
2 to 20 CLIENT children: SQL statements as SQLAlchemy writes them and outgoing
HTTP calls. The traffic has work in it for every detector: N+1 loops over
order items and inventory, a search that filters on an unindexed column, a
statement repeated with the same literal, and a payment provider that is slow
now and then. Two services use the old semantic-convention attribute names
(``http.method``, ``db.statement``, ``http.url``), one the new ones
(``http.request.method``, ``db.query.text``, ``url.full``).

Lines are what the Collector's file exporter writes: one ``TracesData`` a line,
each a batch of a few dozen traces grouped by resource and scope. A span takes
about 400 bytes. The same seed and span count always give the same file.

    python bench/generate.py --spans 1000000 --output /tmp/spans-1m.jsonl
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

#: Ten minutes of traffic, starting 2024-05-01 12:00:00 UTC.
START_NS = 1_714_564_800_000_000_000
DURATION_NS = 600_000_000_000
#: Traces a line holds, as a batching exporter would send them.
TRACES_PER_LINE = 24

Attr = dict[str, Any]
Child = tuple[str, str, Attr, float]  # kind ("sql"/"http"), name, attributes, ms
Plan = Callable[[random.Random, "Service"], list[Child]]


def _attr(key: str, value: str | int) -> Attr:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


@dataclass(frozen=True)
class Service:
    """One traced service: its resource and which attribute names it uses."""

    name: str
    new_names: bool
    db_name: str
    resource: dict[str, Any]


def _resource(name: str, version: str, instance: str) -> dict[str, Any]:
    return {
        "attributes": [
            _attr("service.name", name),
            _attr("service.version", version),
            _attr("service.instance.id", instance),
            _attr("deployment.environment", "loadtest"),
            _attr("telemetry.sdk.language", "python"),
            _attr("telemetry.sdk.name", "opentelemetry"),
            _attr("telemetry.sdk.version", "1.27.0"),
        ]
    }


SHOP = Service("shop-api", True, "shop", _resource("shop-api", "2.4.1", "shop-7f9c"))
CATALOG = Service(
    "catalog", False, "catalog", _resource("catalog", "1.9.0", "cat-2b1d")
)
CHECKOUT = Service(
    "checkout", False, "shop", _resource("checkout", "3.0.2", "checkout-91ae")
)

SCOPE_SERVER = {"name": "opentelemetry.instrumentation.fastapi", "version": "0.48b0"}
SCOPE_SQL = {"name": "opentelemetry.instrumentation.sqlalchemy", "version": "0.48b0"}
SCOPE_HTTP = {"name": "opentelemetry.instrumentation.httpx", "version": "0.48b0"}

# Statements as SQLAlchemy renders them for psycopg2.
PRODUCT_COLUMNS = "products.id, products.name, products.price"
Q_PRODUCT_BY_ID = f"SELECT {PRODUCT_COLUMNS} FROM products WHERE products.id = %(pk_1)s"
Q_PRODUCTS_PAGE = (
    f"SELECT {PRODUCT_COLUMNS} FROM products ORDER BY products.id "
    "LIMIT %(param_1)s OFFSET %(param_2)s"
)
Q_PRODUCTS_COUNT = "SELECT count(*) AS count_1 FROM products"
Q_REVIEWS = (
    "SELECT reviews.id, reviews.rating, reviews.body FROM reviews "
    "WHERE reviews.product_id = %(product_id_1)s"
)
Q_ORDER = (
    "SELECT orders.id, orders.user_id, orders.status FROM orders "
    "WHERE orders.id = %(pk_1)s"
)
Q_ORDER_ITEMS = (
    "SELECT order_items.product_id, order_items.quantity FROM order_items "
    "WHERE order_items.order_id = %(order_id_1)s"
)
Q_USER = "SELECT users.id, users.email, users.name FROM users WHERE users.id = %(pk_1)s"
Q_USER_ORDERS = (
    "SELECT orders.id, orders.status, orders.created_at FROM orders "
    "WHERE orders.user_id = %(user_id_1)s ORDER BY orders.created_at DESC"
)
Q_CART_ITEMS = (
    "SELECT cart_items.product_id, cart_items.quantity FROM cart_items "
    "WHERE cart_items.cart_id = %(cart_id_1)s"
)
Q_SETTING = "SELECT settings.value FROM settings WHERE settings.key = 'currency'"
Q_INSERT_ORDER = (
    "INSERT INTO orders (user_id, status, created_at) VALUES "
    "(%(user_id)s, %(status)s, %(created_at)s) RETURNING orders.id"
)
Q_INSERT_ITEM = (
    "INSERT INTO order_items (order_id, product_id, quantity) VALUES "
    "(%(order_id)s, %(product_id)s, %(quantity)s) RETURNING order_items.id"
)
Q_INSERT_CART_ITEM = (
    "INSERT INTO cart_items (cart_id, product_id, quantity) VALUES "
    "(%(cart_id)s, %(product_id)s, %(quantity)s) RETURNING cart_items.id"
)
Q_UPDATE_STOCK = (
    "UPDATE inventory SET quantity=(inventory.quantity - %(quantity_1)s) "
    "WHERE inventory.product_id = %(product_id_1)s"
)
Q_CATEGORIES = (
    "SELECT categories.id, categories.name, categories.parent_id FROM categories "
    "ORDER BY categories.name"
)
Q_CATEGORY = (
    "SELECT categories.id, categories.name FROM categories "
    "WHERE categories.id = %(pk_1)s"
)
Q_CATEGORY_PRODUCTS = (
    f"SELECT {PRODUCT_COLUMNS} FROM products "
    "WHERE products.category_id = %(category_id_1)s LIMIT %(param_1)s"
)
# products.name has no index: this filter scans the table.
Q_SEARCH = (
    f"SELECT {PRODUCT_COLUMNS} FROM products "
    "WHERE lower(products.name) LIKE lower(%(name_1)s) LIMIT %(param_1)s"
)
Q_INVENTORY = (
    "SELECT inventory.product_id, inventory.sku, inventory.quantity "
    "FROM inventory WHERE inventory.sku = %(sku_1)s"
)


def _ms(rng: random.Random, median: float, spread: float = 0.5) -> float:
    return median * rng.lognormvariate(0.0, spread)


def sql(rng: random.Random, statement: str, median: float = 0.8) -> Child:
    return ("sql", statement, {}, _ms(rng, median))


def http(rng: random.Random, method: str, url: str, median: float = 25.0) -> Child:
    return ("http", method, {"url": url}, _ms(rng, median, 0.4))


def _sku(rng: random.Random) -> str:
    return f"SKU-{rng.randrange(10_000):05d}"


# The request plans: which children each endpoint makes.


def list_products(rng: random.Random, svc: Service) -> list[Child]:
    return [
        sql(rng, Q_SETTING, 0.3),
        sql(rng, Q_PRODUCTS_COUNT, 1.5),
        sql(rng, Q_PRODUCTS_PAGE, 2.0),
    ]


def get_product(rng: random.Random, svc: Service) -> list[Child]:
    sku = _sku(rng)
    return [
        sql(rng, Q_PRODUCT_BY_ID),
        sql(rng, Q_REVIEWS, 1.2),
        http(rng, "GET", f"http://catalog:8000/inventory/{sku}", 6.0),
    ]


def get_order(rng: random.Random, svc: Service) -> list[Child]:
    # N+1: one product query per order item.
    items = rng.randint(2, 12)
    children = [sql(rng, Q_ORDER), sql(rng, Q_ORDER_ITEMS, 1.0)]
    children += [sql(rng, Q_PRODUCT_BY_ID, 0.6) for _ in range(items)]
    return children


def create_order(rng: random.Random, svc: Service) -> list[Child]:
    items = rng.randint(1, 6)
    children = [sql(rng, Q_USER), sql(rng, Q_CART_ITEMS), sql(rng, Q_INSERT_ORDER)]
    children += [sql(rng, Q_INSERT_ITEM, 0.7) for _ in range(items)]
    children += [sql(rng, Q_UPDATE_STOCK, 0.9) for _ in range(items)]
    slow = rng.random() < 0.08
    children.append(
        http(
            rng, "POST", "https://api.payments.example/v1/charges", 900 if slow else 120
        )
    )
    return children


def list_categories(rng: random.Random, svc: Service) -> list[Child]:
    return [
        sql(rng, Q_CATEGORIES, 1.0),
        http(rng, "GET", "https://cdn.example/catalog/banners.json", 15.0),
    ]


def category_products(rng: random.Random, svc: Service) -> list[Child]:
    # N+1 over HTTP: one stock call per product listed.
    products = rng.randint(2, 15)
    children = [sql(rng, Q_CATEGORY), sql(rng, Q_CATEGORY_PRODUCTS, 2.0)]
    children += [
        http(rng, "GET", f"https://stock.supplier.example/api/stock/{_sku(rng)}", 18.0)
        for _ in range(products)
    ]
    return children


def search(rng: random.Random, svc: Service) -> list[Child]:
    return [sql(rng, Q_SEARCH, 60.0), sql(rng, Q_PRODUCTS_COUNT, 1.5)]


def inventory(rng: random.Random, svc: Service) -> list[Child]:
    sku = _sku(rng)
    return [
        sql(rng, Q_INVENTORY, 0.7),
        http(rng, "GET", f"https://stock.supplier.example/api/stock/{sku}", 18.0),
    ]


def get_cart(rng: random.Random, svc: Service) -> list[Child]:
    # Redundant: the currency setting read again by every helper.
    repeats = rng.randint(3, 5)
    children = [sql(rng, Q_USER), sql(rng, Q_CART_ITEMS)]
    children += [sql(rng, Q_SETTING, 0.3) for _ in range(repeats)]
    return children


def add_cart_item(rng: random.Random, svc: Service) -> list[Child]:
    return [
        sql(rng, Q_PRODUCT_BY_ID),
        sql(rng, Q_CART_ITEMS),
        sql(rng, Q_INSERT_CART_ITEM, 1.1),
    ]


def user_orders(rng: random.Random, svc: Service) -> list[Child]:
    # orders.user_id has no index, and each order's items load one by one.
    orders = rng.randint(1, 17)
    children = [sql(rng, Q_USER), sql(rng, Q_USER_ORDERS, 12.0)]
    children += [sql(rng, Q_ORDER_ITEMS, 0.8) for _ in range(orders)]
    return children


def pay(rng: random.Random, svc: Service) -> list[Child]:
    slow = rng.random() < 0.1
    return [
        sql(rng, Q_ORDER),
        http(
            rng, "POST", "https://api.payments.example/v1/charges", 900 if slow else 150
        ),
        sql(rng, "UPDATE orders SET status=%(status)s WHERE orders.id = %(pk_1)s"),
        http(rng, "POST", "https://mail.example/v3/send", 40.0),
    ]


@dataclass(frozen=True)
class Endpoint:
    """One route of one service, how often it is called and what it does."""

    service: Service
    method: str
    route: str
    weight: int
    plan: Plan
    path: Callable[[random.Random], str]


ENDPOINTS = (
    Endpoint(SHOP, "GET", "/products", 14, list_products, lambda r: "/products"),
    Endpoint(
        SHOP,
        "GET",
        "/products/{product_id}",
        16,
        get_product,
        lambda r: f"/products/{r.randrange(1, 5000)}",
    ),
    Endpoint(
        SHOP,
        "GET",
        "/orders/{order_id}",
        9,
        get_order,
        lambda r: f"/orders/{r.randrange(1, 90000)}",
    ),
    Endpoint(SHOP, "POST", "/orders", 5, create_order, lambda r: "/orders"),
    Endpoint(
        CATALOG, "GET", "/categories", 6, list_categories, lambda r: "/categories"
    ),
    Endpoint(
        CATALOG,
        "GET",
        "/categories/{category_id}/products",
        8,
        category_products,
        lambda r: f"/categories/{r.randrange(1, 40)}/products",
    ),
    Endpoint(
        CATALOG,
        "GET",
        "/search",
        7,
        search,
        lambda r: f"/search?q={r.choice(['mug', 'lamp', 'desk', 'chair'])}",
    ),
    Endpoint(
        CATALOG,
        "GET",
        "/inventory/{sku}",
        10,
        inventory,
        lambda r: f"/inventory/{_sku(r)}",
    ),
    Endpoint(CHECKOUT, "GET", "/cart", 9, get_cart, lambda r: "/cart"),
    Endpoint(
        CHECKOUT, "POST", "/cart/items", 6, add_cart_item, lambda r: "/cart/items"
    ),
    Endpoint(
        CHECKOUT,
        "GET",
        "/users/{user_id}/orders",
        6,
        user_orders,
        lambda r: f"/users/{r.randrange(1, 20000)}/orders",
    ),
    Endpoint(
        CHECKOUT,
        "POST",
        "/checkout/{order_id}/pay",
        4,
        pay,
        lambda r: f"/checkout/{r.randrange(1, 90000)}/pay",
    ),
)


class Ids:
    """Trace and span ids from the seeded generator, as lowercase hex."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def trace(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def span(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"


def server_attributes(svc: Service, ep: Endpoint, path: str, status: int) -> list[Attr]:
    if svc.new_names:
        target, _, query = path.partition("?")
        attrs = [
            _attr("http.request.method", ep.method),
            _attr("url.path", target),
        ]
        if query:
            attrs.append(_attr("url.query", query))
        return [
            *attrs,
            _attr("http.route", ep.route),
            _attr("http.response.status_code", status),
        ]
    return [
        _attr("http.method", ep.method),
        _attr("http.target", path),
        _attr("http.route", ep.route),
        _attr("http.status_code", status),
    ]


def sql_attributes(svc: Service, statement: str) -> list[Attr]:
    if svc.new_names:
        return [
            _attr("db.system.name", "postgresql"),
            _attr("db.namespace", svc.db_name),
            _attr("db.query.text", statement),
        ]
    return [
        _attr("db.system", "postgresql"),
        _attr("db.name", svc.db_name),
        _attr("db.statement", statement),
    ]


def http_attributes(svc: Service, method: str, url: str, status: int) -> list[Attr]:
    if svc.new_names:
        return [
            _attr("http.request.method", method),
            _attr("url.full", url),
            _attr("http.response.status_code", status),
        ]
    return [
        _attr("http.method", method),
        _attr("http.url", url),
        _attr("http.status_code", status),
    ]


def make_trace(
    rng: random.Random, ids: Ids, ep: Endpoint, start_ns: int, max_spans: int
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """One request's spans, each with its scope, children in the order they ran."""
    svc = ep.service
    children = ep.plan(rng, svc)[: max(max_spans - 1, 0)]
    trace_id, root_id = ids.trace(), ids.span()
    failed = rng.random() < 0.01
    status = 500 if failed else (201 if ep.method == "POST" else 200)

    spans = []
    clock = start_ns + int(_ms(rng, 0.6) * 1e6)  # routing, auth, parsing
    for kind, text, extra, ms in children:
        end = clock + int(ms * 1e6)
        if kind == "sql":
            scope, name = SCOPE_SQL, f"{text.split(' ', 1)[0]} {svc.db_name}"
            attributes = sql_attributes(svc, text)
        else:
            scope, name = SCOPE_HTTP, text
            attributes = http_attributes(svc, text, extra["url"], 200)
        span = {
            "traceId": trace_id,
            "spanId": ids.span(),
            "parentSpanId": root_id,
            "name": name,
            "kind": 3,
            "startTimeUnixNano": str(clock),
            "endTimeUnixNano": str(end),
            "attributes": attributes,
            "status": {},
        }
        spans.append((scope, span))
        clock = end + int(_ms(rng, 0.08) * 1e6)
    end = clock + int(_ms(rng, 0.5) * 1e6)

    root = {
        "traceId": trace_id,
        "spanId": root_id,
        "name": f"{ep.method} {ep.route}",
        "kind": 2,
        "startTimeUnixNano": str(start_ns),
        "endTimeUnixNano": str(end),
        "attributes": server_attributes(svc, ep, ep.path(rng), status),
        "status": {"code": 2, "message": "Internal Server Error"} if failed else {},
    }
    return [(SCOPE_SERVER, root), *spans]


def batches(spans: int, seed: int) -> Iterator[bytes]:
    """The file's lines: batches of traces until exactly ``spans`` spans."""
    rng = random.Random(seed)
    ids = Ids(rng)
    weights = [ep.weight for ep in ENDPOINTS]
    # About 6 spans a request: space the requests over the ten minutes.
    step = DURATION_NS / max(spans / 6.1, 1)
    written = 0
    request = 0
    while written < spans:
        by_service: dict[str, tuple[Service, dict[str, list[Any]]]] = {}
        for _ in range(TRACES_PER_LINE):
            if written >= spans:
                break
            (ep,) = rng.choices(ENDPOINTS, weights)
            start = START_NS + int(request * step) + rng.randrange(1_000_000)
            trace = make_trace(rng, ids, ep, start, spans - written)
            written += len(trace)
            request += 1
            _, scopes = by_service.setdefault(ep.service.name, (ep.service, {}))
            for scope, span in trace:
                scopes.setdefault(scope["name"], []).append(span)
        yield orjson.dumps({"resourceSpans": _resource_spans(by_service)})


def _resource_spans(
    by_service: dict[str, tuple[Service, dict[str, list[Any]]]],
) -> list[dict[str, Any]]:
    scope_of = {s["name"]: s for s in (SCOPE_SERVER, SCOPE_SQL, SCOPE_HTTP)}
    return [
        {
            "resource": svc.resource,
            "scopeSpans": [
                {"scope": scope_of[name], "spans": spans}
                for name, spans in scopes.items()
            ],
        }
        for svc, scopes in by_service.values()
    ]


def generate(path: Path, spans: int, seed: int = 1) -> int:
    """Write ``spans`` spans to ``path``; returns the file's size in bytes."""
    size = 0
    with path.open("wb") as out:
        for line in batches(spans, seed):
            out.write(line)
            out.write(b"\n")
            size += len(line) + 1
    return size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=100_000, help="spans to write")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument(
        "--output", "-o", type=Path, required=True, help="file to write"
    )
    args = parser.parse_args(argv)
    size = generate(args.output, args.spans, args.seed)
    print(
        f"wrote {args.spans:,} spans, {size / 1e6:.1f} MB "
        f"({size / max(args.spans, 1):.0f} bytes a span) to {args.output}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
