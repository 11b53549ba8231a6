from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perfkit.analysis import analyze
from perfkit.analysis.stats import top_endpoints
from perfkit.config import Config
from tests.analysis.builders import Spans


@pytest.fixture
def stats() -> pd.DataFrame:
    s = Spans()
    # Request 1, 100 ms: a connect (5-6), two overlapping queries (10-30,
    # 20-40: 30 ms of database time, not 40), one call (50-90) with the HTTP
    # library's transport span under it, which is not a second call.
    r1 = s.request("GET /books", start=0, duration=100)
    s.connect(r1, start=5, duration=1)
    s.query(r1, start=10, duration=20)
    s.query(r1, start=20, duration=20)
    call = s.call(r1, "http://api/x", start=50, duration=40)
    s.call(call, "http://api/x", start=51, duration=38)
    # Request 2, 50 ms, HTTP 500: an Elastic composite span standing for three
    # queries, running past the response (240-260), clipped to 240-250.
    r2 = s.request("GET /books", start=200, duration=50, status=500)
    s.query(r2, start=240, duration=20, composite_count=3)
    # Request 3, 80 ms: a 404 marked ERROR is the client's error, not ours.
    s.request("GET /books", start=300, duration=80, status=404, error=True)
    # Request 4, 20 ms: status ERROR without an HTTP status is an error.
    s.request("GET /books", start=400, duration=20, status=None, error=True)
    # Another endpoint; the run spans 0 to 600 ms.
    s.request("POST /orders", start=450, duration=150)
    return analyze(s.frame(), Config(min_requests_for_p95=3)).endpoints


def test_traffic_and_errors(stats: pd.DataFrame) -> None:
    books = stats.set_index("endpoint").loc["GET /books"]
    assert books["service"] == "shop"
    assert books["requests"] == 4
    assert books["throughput_rps"] == pytest.approx(4 / 0.6)
    assert (books["errors"], books["error_rate"]) == (2, 0.5)
    assert (books["client_errors"], books["client_error_rate"]) == (1, 0.25)
    orders = stats.set_index("endpoint").loc["POST /orders"]
    assert orders["throughput_rps"] == pytest.approx(1 / 0.6)


def test_latency_percentiles_follow_numpy(stats: pd.DataFrame) -> None:
    books = stats.set_index("endpoint").loc["GET /books"]
    durations = [100, 50, 80, 20]
    expected = np.percentile(durations, [50, 95, 99])
    assert [books["p50_ms"], books["p95_ms"], books["p99_ms"]] == pytest.approx(
        expected
    )
    assert books["mean_ms"] == pytest.approx(62.5)
    assert books["max_ms"] == 100
    assert books["total_ms"] == 250
    # Four values cannot bound p95 from above; the lower bound is the largest.
    assert np.isnan(books["p95_ci_high_ms"])


def test_time_breakdown_per_request(stats: pd.DataFrame) -> None:
    books = stats.set_index("endpoint").loc["GET /books"]
    # db: (1 + 30) + 10 + 0 + 0; external: 40; self: duration minus both.
    assert books["db_ms_per_request"] == pytest.approx((31 + 10) / 4)
    assert books["external_ms_per_request"] == pytest.approx(40 / 4)
    assert books["self_ms_per_request"] == pytest.approx((29 + 40 + 80 + 20) / 4)
    # Queries: 2 + 3 (the composite span); connect spans are not queries.
    assert books["queries_per_request"] == pytest.approx(5 / 4)
    assert books["external_calls_per_request"] == pytest.approx(1 / 4)


def test_enough_data_and_rank(stats: pd.DataFrame) -> None:
    # POST /orders has the worse p95 but one request: it comes last, unranked.
    assert stats["endpoint"].tolist() == ["GET /books", "POST /orders"]
    by_endpoint = stats.set_index("endpoint")
    assert by_endpoint.loc["GET /books", "enough_data"]
    assert by_endpoint.loc["GET /books", "rank"] == 1
    assert not by_endpoint.loc["POST /orders", "enough_data"]
    assert pd.isna(by_endpoint.loc["POST /orders", "rank"])


def _stats(p95: dict[str, tuple[float, int]], minimum: int = 20) -> pd.DataFrame:
    rows = [
        {"service": "s", "endpoint": e, "p95_ms": p, "requests": n}
        for e, (p, n) in p95.items()
    ]
    frame = pd.DataFrame(rows)
    frame["enough_data"] = frame["requests"] >= minimum
    ranked = frame["p95_ms"].where(frame["enough_data"])
    frame["rank"] = ranked.rank(method="first", ascending=False).astype("Int64")
    return frame


def test_top_endpoints_never_ranks_thin_ones_above_real_ones() -> None:
    stats = _stats(
        {
            "GET /a": (300.0, 500),
            "GET /b": (200.0, 40),
            "GET /c": (100.0, 20),
            "GET /thin-slow": (900.0, 3),
            "GET /thin-fast": (50.0, 2),
        }
    )
    top = top_endpoints(stats, 2, min_requests=20)
    assert top["endpoint"].tolist() == ["GET /a", "GET /b", "GET /thin-slow"]
    assert top["rank"].tolist()[:2] == [1, 2]
    assert pd.isna(top["rank"].iloc[2])
    assert top["note"].tolist() == [
        "",
        "",
        "not enough data: 3 requests, 20 needed for a p95",
    ]


def test_top_endpoints_with_fewer_ranked_than_asked_lists_every_thin_one() -> None:
    stats = _stats({"GET /a": (300.0, 500), "GET /thin": (10.0, 2)})
    top = top_endpoints(stats, 5)
    assert top["endpoint"].tolist() == ["GET /a", "GET /thin"]


def test_requests_without_a_route_are_grouped_by_their_templated_path() -> None:
    # An instrumentation that records no http.route names the span by its
    # path: one endpoint per user id, each too thin to rank, and the token
    # in the query string shown in every table.
    s = Spans()
    durations = [float(10 + (i * 7) % 23) for i in range(25)]
    for i, duration in enumerate(durations):
        s.request("GET /users", start=i * 100, duration=duration)
        s.rows[-1].update(
            name=f"GET /users/{1000 + i}/orders?token=secret{i}",
            http_route=None,
            endpoint=None,
        )
    s.request("GET /books/{book_id}", start=5000, duration=5)
    stats = analyze(s.frame()).endpoints.set_index("endpoint")
    assert list(stats.index) == ["GET /users/{id}/orders", "GET /books/{book_id}"]
    users = stats.loc["GET /users/{id}/orders"]
    assert users["requests"] == 25
    assert users["rank"] == 1
    assert users["p95_ms"] == pytest.approx(np.percentile(durations, 95))
