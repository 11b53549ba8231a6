"""The demo shop's parts on their own: seed, migrations, plan, driver guard, cache."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections import Counter
from pathlib import Path

import orjson
import pytest

from examples.shop import answer_key
from examples.shop.driver import MIX, Sizes, apportion, check_local, plan_requests
from examples.shop.record import write_key
from examples.shop.seed import ITEMS_PER_ORDER, seed_database, table_sizes
from examples.shop.state import PriceCache

SALES_SQL = (
    "SELECT count(order_items.id), coalesce(sum(order_items.quantity), 0) "
    "FROM order_items WHERE order_items.product_id = ?"
)


def _content_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with sqlite3.connect(path) as db:
        for table in ("categories", "products", "customers", "orders", "order_items"):
            for row in db.execute(f"SELECT * FROM {table} ORDER BY id"):
                digest.update(repr(row).encode())
    return digest.hexdigest()


def _plan(db: Path, sql: str) -> str:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(f"EXPLAIN QUERY PLAN {sql}", (1,)).fetchall()
    return " / ".join(row[-1] for row in rows)


def test_seed_is_deterministic_and_sized(tmp_path: Path) -> None:
    first = seed_database(tmp_path / "a.db", "before", rows=3_000, seed=5)
    second = seed_database(tmp_path / "b.db", "before", rows=3_000, seed=5)
    other = seed_database(tmp_path / "c.db", "before", rows=3_000, seed=6)

    assert _content_digest(tmp_path / "a.db") == _content_digest(tmp_path / "b.db")
    assert _content_digest(tmp_path / "a.db") != _content_digest(tmp_path / "c.db")
    sizes = table_sizes(3_000)
    assert (first.orders, first.products, first.customers) == (
        sizes["orders"],
        sizes["products"],
        sizes["customers"],
    )
    low, high = ITEMS_PER_ORDER
    assert low * first.orders <= first.order_items <= high * first.orders
    assert first.order_items == second.order_items
    assert other.order_items != first.order_items


def test_default_scale_makes_a_big_table() -> None:
    sizes = table_sizes(300_000)
    assert sizes["orders"] * ITEMS_PER_ORDER[0] >= 100_000
    assert sizes["products"] == 600


def test_migration_0002_adds_the_missing_index(tmp_path: Path) -> None:
    seed_database(tmp_path / "before.db", "before", rows=2_000)
    seed_database(tmp_path / "after.db", "after", rows=2_000)

    assert _plan(tmp_path / "before.db", SALES_SQL) == "SCAN order_items"
    assert _plan(tmp_path / "after.db", SALES_SQL) == (
        "SEARCH order_items USING INDEX ix_order_items_product_id (product_id=?)"
    )
    with sqlite3.connect(tmp_path / "after.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("0002",)
        ]
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_seed_rejects_an_unknown_variant(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="variant must be one of"):
        seed_database(tmp_path / "x.db", "during", rows=100)


def test_apportion_adds_up_and_keeps_every_endpoint() -> None:
    weights = {key: weight for key, (weight, _) in MIX.items()}
    for total in (10, 50, 997, 5_000):
        counts = apportion(total, weights)
        assert sum(counts.values()) == total
        assert min(counts.values()) >= 1
    assert apportion(5_000, weights)["GET /products/{product_id}"] == 1_400


def test_plan_is_seeded_and_matches_the_mix() -> None:
    sizes = Sizes(products=100, customers=50, orders=400)
    plan = plan_requests(200, sizes, seed=3)

    assert plan == plan_requests(200, sizes, seed=3)
    assert plan != plan_requests(200, sizes, seed=4)
    counts = Counter(planned.endpoint for planned in plan)
    assert counts == apportion(200, {k: w for k, (w, _) in MIX.items()})
    price_ids = {int(p.path.split("/")[2]) for p in plan if p.path.endswith("/price")}
    assert max(price_ids) <= 40
    order_ids = {
        int(p.path.split("/")[2]) for p in plan if p.path.endswith("/availability")
    }
    assert max(order_ids) <= 400


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5:8000", "http://example.com", "http://0.0.0.0:80"]
)
def test_driver_refuses_remote_targets(url: str) -> None:
    with pytest.raises(ValueError, match=r"only targets 127\.0\.0\.1"):
        check_local(url)


def test_driver_accepts_loopback() -> None:
    check_local("http://127.0.0.1:8000")
    check_local("http://localhost:8000")


def test_price_cache_keeps_successes_only() -> None:
    calls: list[str] = []
    answers = iter([None, 450, 999])

    async def load(sku: str) -> int | None:
        calls.append(sku)
        return next(answers)

    async def scenario() -> list[int | None]:
        cache = PriceCache(ttl=600)
        return [await cache.get("SKU-1", load) for _ in range(3)]

    assert asyncio.run(scenario()) == [None, 450, 450]
    assert calls == ["SKU-1", "SKU-1"]


def test_answer_key_covers_every_kind_once() -> None:
    key = answer_key.build()
    problems = Counter(entry["problem"] for entry in key["endpoints"].values())

    assert set(key["endpoints"]) == set(MIX)
    assert {kind: problems[kind] for kind in answer_key.PROBLEM_KINDS} == dict.fromkeys(
        answer_key.PROBLEM_KINDS, 1
    )
    assert problems["healthy"] == 5
    regression = key["regression"]["endpoint"]
    assert key["endpoints"][regression]["problem"] == "healthy"
    assert key["endpoints"][regression]["after"] == "regression"
    assert len(key["fixed_in_after"]) == 5
    assert key["endpoints"]["GET /orders/recent"]["queries_per_request"] == {
        "before": [31, 31],
        "after": [2, 2],
    }
    for name, entry in key["endpoints"].items():
        assert entry["expected_findings"]["after"] == [], name
        if entry["problem"] == "healthy":
            assert entry["expected_findings"]["before"] == [], name
            assert entry["tolerated_findings"] == {"before": [], "after": []}, name
        else:
            assert entry["expected_findings"]["before"] == [entry["problem"]], name


def test_key_refresh_keeps_the_measured_runs(tmp_path: Path) -> None:
    runs = {"before": {"spans": 12}, "after": {"spans": 7}}
    write_key(tmp_path, runs)
    stale = orjson.loads((tmp_path / "answer_key.json").read_bytes())
    stale["endpoints"] = {}
    (tmp_path / "answer_key.json").write_bytes(orjson.dumps(stale))

    refreshed = write_key(tmp_path)

    assert refreshed["runs"] == runs
    assert set(refreshed["endpoints"]) == set(MIX)
    assert orjson.loads((tmp_path / "answer_key.json").read_bytes()) == refreshed
