"""Build the shop's SQLite database, the same rows every time for a given seed.

The schema comes from the Alembic migrations: revision 0001 for both variants,
then, for ``after``, revision 0002 adds the missing index on the filled table,
the way a fix reaches a production database. Rows go in with ``executemany``,
so 300,000 order items take a few seconds.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.engine import Connection

from examples.shop import migrations
from examples.shop.models import Category, Customer, Order, OrderItem, Product

#: Rows in ``order_items``, the big table, for the committed recordings.
DEFAULT_ROWS = 300_000
DEFAULT_SEED = 20_260_101
VARIANTS = ("before", "after")

#: Share of customers per loyalty tier; the after variant's bug hits "platinum".
TIERS = {"bronze": 0.70, "silver": 0.20, "gold": 0.06, "platinum": 0.04}
ITEMS_PER_ORDER = (5, 10)
EPOCH = datetime(2026, 1, 1)

_CATEGORIES = (
    "Audio", "Bags", "Bikes", "Books", "Cameras", "Coffee", "Desks", "Drones",
    "Games", "Garden", "Kitchen", "Lamps", "Laptops", "Music", "Outdoor", "Paint",
    "Phones", "Shoes", "Sofas", "Sport", "Tea", "Tools", "Toys", "Watches",
)  # fmt: skip
_ADJECTIVES = (
    "Compact", "Classic", "Deluxe", "Eco", "Ergonomic", "Foldable", "Heavy-duty",
    "Lightweight", "Modular", "Portable", "Premium", "Quiet", "Rugged", "Smart",
    "Solar", "Travel", "Vintage", "Wireless",
)  # fmt: skip
_NOUNS = (
    "Adapter", "Backpack", "Blender", "Charger", "Clock", "Grinder", "Headset",
    "Jacket", "Kettle", "Lantern", "Mixer", "Monitor", "Mug", "Speaker", "Stand",
    "Stool", "Tent", "Tripod",
)  # fmt: skip
_WORDS = (
    "built", "for", "daily", "use", "with", "a", "steel", "frame", "soft", "grip",
    "and", "two", "year", "warranty", "easy", "to", "clean", "ships", "in",
    "recycled", "packaging", "tested", "by", "our", "team", "works", "outdoors",
)  # fmt: skip
_TAGS = (
    "bestseller", "new", "gift", "eco", "sale", "limited", "bundle", "refurbished",
    "exclusive", "handmade",
)  # fmt: skip
_STATUSES = ("paid", "shipped", "delivered", "cancelled")


@dataclass(frozen=True)
class SeedSummary:
    """What :func:`seed_database` wrote."""

    path: str
    variant: str
    categories: int
    products: int
    customers: int
    orders: int
    order_items: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def seed_database(
    path: str | Path,
    variant: str,
    *,
    rows: int = DEFAULT_ROWS,
    seed: int = DEFAULT_SEED,
) -> SeedSummary:
    """Create the database at ``path`` from scratch for ``variant``.

    ``rows`` is the approximate size of ``order_items``; the other tables scale
    with it (``rows`` 300,000 gives 40,000 orders and 600 products).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    started = time.perf_counter()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-journal", "-wal", "-shm"):
        leftover = path.with_name(path.name + suffix)
        leftover.unlink(missing_ok=True)

    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        # Write-ahead logging is a property of the file: the shop gets it too.
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    with engine.begin() as connection:
        migrations.upgrade(connection, migrations.BEFORE_REVISION)
        _insert_rows(connection, rows, random.Random(seed))
    if variant == "after":
        with engine.begin() as connection:
            migrations.upgrade(connection, migrations.AFTER_REVISION)
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
        counts = {
            model.__tablename__: connection.scalar(
                select(func.count()).select_from(model)
            )
            or 0
            for model in (Category, Product, Customer, Order, OrderItem)
        }
    engine.dispose()

    return SeedSummary(
        path=str(path),
        variant=variant,
        categories=counts["categories"],
        products=counts["products"],
        customers=counts["customers"],
        orders=counts["orders"],
        order_items=counts["order_items"],
        seconds=round(time.perf_counter() - started, 2),
    )


def table_sizes(rows: int) -> dict[str, int]:
    """How many rows each table gets for a target ``order_items`` size."""
    orders = max(rows * 2 // sum(ITEMS_PER_ORDER), 1)
    return {
        "categories": len(_CATEGORIES),
        "products": min(max(orders // 60, 20), 600),
        "customers": max(orders // 4, 10),
        "orders": orders,
    }


def _insert_rows(connection: Connection, rows: int, rng: random.Random) -> None:
    sizes = table_sizes(rows)
    connection.execute(
        insert(Category),
        [
            {"id": i, "name": name, "slug": name.lower()}
            for i, name in enumerate(_CATEGORIES, start=1)
        ],
    )

    products = [_product(i, rng) for i in range(1, sizes["products"] + 1)]
    connection.execute(insert(Product), products)
    prices = [p["price_cents"] for p in products]

    tiers, weights = list(TIERS), list(TIERS.values())
    connection.execute(
        insert(Customer),
        [
            {
                "id": i,
                "email": f"customer{i}@example.com",
                "name": f"Customer {i}",
                "tier": rng.choices(tiers, weights)[0],
                "created_at": EPOCH - timedelta(days=rng.randint(1, 900)),
            }
            for i in range(1, sizes["customers"] + 1)
        ],
    )

    # Orders are spread over the year before EPOCH in id order, so the most
    # recent seeded order has the highest id, and orders placed while
    # recording are newer still.
    orders, items = [], []
    spacing = timedelta(days=365) / sizes["orders"]
    first = EPOCH - timedelta(days=365)
    for order_id in range(1, sizes["orders"] + 1):
        total = 0
        for _ in range(rng.randint(*ITEMS_PER_ORDER)):
            product_id = rng.randint(1, len(products))
            quantity = rng.randint(1, 4)
            total += quantity * prices[product_id - 1]
            items.append(
                {
                    "order_id": order_id,
                    "product_id": product_id,
                    "quantity": quantity,
                    "unit_price_cents": prices[product_id - 1],
                }
            )
        orders.append(
            {
                "id": order_id,
                "customer_id": rng.randint(1, sizes["customers"]),
                "status": rng.choice(_STATUSES),
                "total_cents": total,
                "created_at": first + spacing * order_id,
            }
        )
    connection.execute(insert(Order), orders)
    connection.execute(insert(OrderItem), items)


def _product(product_id: int, rng: random.Random) -> dict[str, Any]:
    name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {product_id}"
    description = " ".join(rng.choices(_WORDS, k=rng.randint(25, 40))).capitalize()
    return {
        "id": product_id,
        "sku": f"SKU-{product_id:06d}",
        "name": name,
        "description": description + ".",
        "category_id": rng.randint(1, len(_CATEGORIES)),
        "price_cents": rng.randint(199, 49_999),
        "weight_grams": rng.randint(50, 20_000),
        "tags": ",".join(sorted(rng.sample(_TAGS, rng.randint(1, 4)))),
        "created_at": EPOCH - timedelta(days=rng.randint(30, 1500)),
    }
