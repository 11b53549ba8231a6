from __future__ import annotations

import pytest

from perfkit.analysis import Finding, analyze
from tests.analysis.builders import Spans


def slow_calls(s: Spans) -> list[Finding]:
    return [f for f in analyze(s.frame()).findings if f.kind == "slow_external_call"]


def price_requests(s: Spans, *, calling: int, requests: int = 25) -> None:
    """Requests of 320 ms; the first ``calling`` ask the supplier (300 ms)."""
    for i in range(requests):
        t = i * 1000
        r = s.request("GET /products/{id}/price", start=t, duration=320)
        s.query(
            r, "SELECT * FROM products WHERE products.id = ?", start=t + 1, duration=2
        )
        if i < calling:
            s.call(
                r,
                f"http://supplier:9000/prices/SKU-{i:06d}",
                start=t + 10,
                duration=300,
            )


def test_a_slow_host_on_every_request() -> None:
    s = Spans()
    price_requests(s, calling=25)
    (finding,) = slow_calls(s)
    assert finding.endpoint == "GET /products/{id}/price"
    assert finding.evidence["host"] == "supplier:9000"
    assert finding.evidence["url_templates"] == ["GET http://supplier:9000/prices/{id}"]
    assert finding.evidence["p95_ms"] == pytest.approx(300.0)
    assert finding.evidence["share_of_endpoint"] == pytest.approx(300 / 320, abs=1e-4)
    assert finding.evidence["total_ms"] == pytest.approx(300.0)
    assert finding.evidence["count_per_request"] == 1
    assert finding.evidence["sequential"] is False
    # A cache hit removes the call: 300 ms on each of 25 requests.
    assert finding.saved_ms_per_request == pytest.approx(300.0)
    assert finding.saved_ms_total == pytest.approx(7500.0)
    assert finding.severity == "critical"
    assert "Cache" in finding.suggestion.summary
    assert "timeout" in finding.suggestion.summary


def test_a_slow_host_called_on_few_requests_costs_too_little() -> None:
    s = Spans()
    price_requests(s, calling=2)  # a warm cache: 600 ms over 25 requests
    assert slow_calls(s) == []


def test_a_slow_host_called_on_a_minority_of_requests_is_a_tail_effect() -> None:
    s = Spans()
    # 6 of 25 requests (24%) wait 300 ms: 72 ms per request on average, but
    # the typical request never calls the host.
    price_requests(s, calling=6)
    assert slow_calls(s) == []
    s = Spans()
    price_requests(s, calling=7)  # 28%
    (finding,) = slow_calls(s)
    assert finding.requests_affected == 7
    assert finding.saved_ms_total == pytest.approx(2100.0)


def test_fast_calls_are_not_reported() -> None:
    s = Spans()
    for i in range(25):
        r = s.request("GET /x", start=i * 100, duration=40)
        s.call(r, "http://api/x", start=i * 100 + 1, duration=10)
    assert slow_calls(s) == []


def test_calls_one_after_another_to_different_hosts_could_run_in_parallel() -> None:
    s = Spans()
    for i in range(25):
        t = i * 1000
        r = s.request("GET /dashboard", start=t, duration=540)
        s.call(r, "http://a/x", start=t, duration=100)
        s.call(r, "http://b/y", start=t + 100, duration=250)
        s.call(r, "http://c/z", start=t + 350, duration=180)
    found = {f.evidence["host"]: f for f in slow_calls(s)}
    # a: p95 100 ms and 19% of the time, not slow. b: p95 250 ms, and the
    # longest of the sequence, so only a cache helps. c: 33% of the time and
    # hidden behind b if run in parallel.
    assert set(found) == {"b", "c"}
    assert found["b"].evidence["sequential"] is False
    assert found["b"].saved_ms_per_request == pytest.approx(250.0)
    assert found["c"].evidence["sequential"] is True
    assert found["c"].saved_ms_per_request == pytest.approx(180.0)
    assert found["c"].confidence == "medium"
    assert "concurrently" in found["c"].suggestion.summary


def test_a_host_with_an_n_plus_one_and_another_slow_call_points_at_it() -> None:
    s = Spans()
    for i in range(25):
        t = i * 1000
        r = s.request("GET /availability", start=t, duration=450)
        for j in range(5):
            s.call(r, f"http://supplier/stock/{j}", start=t + 20 * j, duration=20)
        s.call(r, "http://supplier/prices/9", start=t + 120, duration=300)
    found = analyze(s.frame()).findings
    n_plus_one = next(f for f in found if f.kind == "n_plus_one_http")
    slow = next(f for f in found if f.kind == "slow_external_call")
    # 150 calls, the 25 slowest 300 ms: position 149 * 0.95 = 141.55 of the
    # sorted durations lies among them.
    assert slow.evidence["p95_ms"] == pytest.approx(300.0)
    assert slow.evidence["see_also"] == [n_plus_one.id]
    assert "partly an N+1" in slow.title


def test_hosts_called_at_the_same_time_share_the_time_they_overlap() -> None:
    # Per request: a 0-300 ms, b 100-200 ms, c 250-400 ms. Shared evenly:
    # a 100 + 50 + 50 + 25 = 225 ms, b 50 ms, c 25 + 100 = 125 ms; together
    # 400 ms, the time the request waited, as caching all three would save.
    s = Spans()
    for i in range(30):
        t = i * 1000
        r = s.request("GET /dashboard", start=t, duration=420)
        s.call(r, "http://a/api/summary", start=t, duration=300)
        s.call(r, "http://b/api/summary", start=t + 100, duration=100)
        s.call(r, "http://c/api/summary", start=t + 250, duration=150)
    found = {f.evidence["host"]: f for f in slow_calls(s)}
    # b: p95 100 ms and 24% of the endpoint's time, below both thresholds.
    assert set(found) == {"a", "c"}
    assert found["a"].saved_ms_per_request == pytest.approx(225.0)
    assert found["c"].saved_ms_per_request == pytest.approx(125.0)
    # The evidence still gives each host's own wall time.
    assert found["a"].evidence["total_ms"] == pytest.approx(300.0)
    assert found["c"].evidence["total_ms"] == pytest.approx(150.0)
    assert "alone saves about 225.0 ms" in found["a"].suggestion.detail


def test_parallel_calls_to_three_slow_hosts_save_the_wait_once() -> None:
    s = Spans()
    for i in range(30):
        t = i * 1000
        r = s.request("GET /dashboard", start=t, duration=300)
        for host in ("users", "billing", "search"):
            s.call(r, f"http://{host}/api/summary", start=t + 5, duration=250)
    found = slow_calls(s)
    assert len(found) == 3
    # Savings are rounded to the microsecond.
    saved = [f.saved_ms_per_request for f in found]
    assert saved == pytest.approx([250 / 3] * 3, abs=1e-3)
    assert sum(f.saved_ms_total for f in found) == pytest.approx(250.0 * 30, abs=0.1)
