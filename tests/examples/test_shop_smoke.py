"""Record a tiny run of both variants end to end, so the recorder cannot rot."""

from __future__ import annotations

import gzip
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from examples.shop.record import RecordOptions, record
from examples.shop.traces import read_requests

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("shop")
    options = RecordOptions(
        out=root / "traces",
        requests=50,
        concurrency=4,
        rate=None,
        rows=2_000,
        profile_rate=0.5,
        db_dir=root / "db",
        max_seconds=120,
    )
    return root, record(options)


@pytest.mark.parametrize("variant", ["before", "after"])
def test_tiny_recording_has_every_request_and_endpoint(
    recorded: tuple[Path, dict[str, Any]], variant: str
) -> None:
    root, key = recorded
    run = key["runs"][variant]
    requests = read_requests(root / "traces" / variant / "traces.jsonl.gz")

    assert run["load"]["requests"] == len(requests) == 50
    assert Counter(r.endpoint for r in requests) == {
        name: entry["requests"] for name, entry in run["load"]["by_endpoint"].items()
    }
    assert set(run["load"]["by_endpoint"]) == set(key["endpoints"])
    assert run["database"]["order_items"] >= 2_000 * 0.8
    assert run["spans"] > 50 * 3

    recent = [r for r in requests if r.endpoint == "GET /orders/recent"]
    expected = {"before": 31, "after": 2}[variant]
    assert recent
    assert {len(r.statements) for r in recent} == {expected}


@pytest.mark.parametrize("variant", ["before", "after"])
def test_tiny_recording_profiles_join(
    recorded: tuple[Path, dict[str, Any]], variant: str
) -> None:
    root, key = recorded
    requests = read_requests(root / "traces" / variant / "traces.jsonl.gz")
    servers = {(r.server.trace_id, r.server.span_id): r.endpoint for r in requests}
    profiles = sorted((root / "traces" / variant / "profiles").iterdir())

    assert 5 <= len(profiles) == key["runs"][variant]["profiles"] < 50
    samples, in_endpoints = 0, 0
    for path in profiles:
        trace_id, span_id = path.name.removesuffix(".pyisession.gz").split("-")
        endpoint = servers[(trace_id, span_id)]
        profile = orjson.loads(gzip.decompress(path.read_bytes()))
        assert profile["target_description"].startswith(f"{endpoint} trace_id=")
        # A request shorter than the 1 ms interval can have no sample at all.
        assert len(profile["frame_records"]) == profile["sample_count"]
        samples += profile["sample_count"]
        in_endpoints += any(
            "examples/shop/endpoints.py" in frame
            for stack, _ in profile["frame_records"]
            for frame in stack
        )
    # The profiler samples the thread the endpoints run on.
    assert samples >= len(profiles)
    assert in_endpoints >= len(profiles) // 2


def test_traced_sql_runs_on_the_seeded_databases(
    recorded: tuple[Path, dict[str, Any]],
) -> None:
    # perfkit's analysis runs EXPLAIN on the statements it finds in traces.
    root, _ = recorded
    requests = read_requests(root / "traces" / "before" / "traces.jsonl.gz")
    (sales,) = {
        r.statements[0]
        for r in requests
        if r.endpoint == "GET /products/{product_id}/sales"
    }
    plans = {}
    for variant in ("before", "after"):
        with sqlite3.connect(root / "db" / f"shop-{variant}.db") as db:
            values = (1,) * sales.count("?")
            rows = db.execute(f"EXPLAIN QUERY PLAN {sales}", values).fetchall()
        plans[variant] = " ".join(row[-1] for row in rows)
    assert plans["before"] == "SCAN order_items"
    assert "USING INDEX ix_order_items_product_id" in plans["after"]


def test_answer_key_file_is_written(recorded: tuple[Path, dict[str, Any]]) -> None:
    root, key = recorded
    written = orjson.loads((root / "traces" / "answer_key.json").read_bytes())
    assert written == orjson.loads(orjson.dumps(key))
    assert written["runs"]["before"]["supplier"].startswith("127.0.0.1:")
