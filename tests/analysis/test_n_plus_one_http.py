from __future__ import annotations

import pytest

from perfkit.analysis import Finding, analyze
from tests.analysis.builders import Spans

SUPPLIER = "http://127.0.0.1:8081"


def findings(s: Spans, kind: str | None = None) -> list[Finding]:
    found = analyze(s.frame()).findings
    return [f for f in found if kind is None or f.kind == kind]


def stock_loop(
    s: Spans,
    calls: int,
    *,
    overlap: bool = False,
    requests: int = 3,
    supplier: str = SUPPLIER,
) -> None:
    """Per request (200 ms), one GET /stock/<sku> per order line, 20 ms each."""
    for i in range(requests):
        t = i * 1000
        r = s.request("GET /orders/{order_id}/availability", start=t, duration=200)
        lines = "SELECT sku FROM order_items WHERE order_id = ?"
        s.query(r, lines, start=t, duration=2)
        for j in range(calls):
            begin = t + 10 + (2 * j if overlap else 20 * j)
            url = f"{supplier}/stock/SKU-{100 + j:06d}?fresh=1"
            s.call(r, url, start=begin, duration=20)


def test_one_call_per_item_one_after_another() -> None:
    s = Spans()
    stock_loop(s, calls=6)
    (finding,) = findings(s)  # the slow calls are this N+1, not reported again
    assert finding.kind == "n_plus_one_http"
    assert finding.endpoint == "GET /orders/{order_id}/availability"
    # 6 x 20 ms one after another; one batch request would take about 20.
    assert finding.saved_ms_per_request == pytest.approx(100.0)
    assert finding.saved_ms_total == pytest.approx(300.0)
    assert finding.evidence["url_template"] == f"GET {SUPPLIER}/stock/{{id}}"
    assert finding.evidence["host"] == "127.0.0.1:8081"
    assert finding.evidence["count_per_request"] == 6
    assert finding.evidence["total_ms"] == pytest.approx(120.0)
    assert finding.evidence["share_of_endpoint"] == pytest.approx(0.6)
    assert finding.evidence["concurrent"] is False
    assert "batch" in finding.suggestion.summary
    assert "asyncio.gather" in finding.suggestion.detail
    # 300 of 600 ms: half the endpoint's time.
    assert finding.severity == "critical"


def test_the_id_does_not_change_with_the_port_of_a_local_service() -> None:
    first, second = Spans(), Spans()
    stock_loop(first, calls=6, supplier="http://127.0.0.1:41234")
    stock_loop(second, calls=6, supplier="http://127.0.0.1:52345")
    (a,), (b,) = findings(first), findings(second)
    assert a.evidence["url_template"] != b.evidence["url_template"]
    assert a.id == b.id


def test_concurrent_calls_can_only_gain_from_a_batch_endpoint() -> None:
    s = Spans()
    stock_loop(s, calls=5, overlap=True)
    (finding,) = findings(s, "n_plus_one_http")
    # Starts 2 ms apart, 20 ms each: 10 to 38, 28 ms of wall time.
    assert finding.evidence["wall_ms"] == pytest.approx(28.0)
    assert finding.saved_ms_per_request == pytest.approx(8.0)
    assert finding.evidence["concurrent"] is True
    assert "already run concurrently" in finding.suggestion.detail


def test_four_calls_are_not_an_n_plus_one() -> None:
    s = Spans()
    stock_loop(s, calls=4)
    assert findings(s, "n_plus_one_http") == []


def test_calls_to_different_urls_are_not_an_n_plus_one() -> None:
    s = Spans()
    r = s.request("GET /home", duration=200)
    for j, path in enumerate(["users", "orders", "stock", "prices", "news"]):
        s.call(r, f"http://api/{path}", start=10 + j * 5, duration=4)
    assert findings(s, "n_plus_one_http") == []
