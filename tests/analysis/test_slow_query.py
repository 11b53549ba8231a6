from __future__ import annotations

import pytest

from perfkit.analysis import Finding, analyze
from perfkit.analysis.detectors.slow_query import hints
from perfkit.config import Config
from tests.analysis.builders import Spans

EXPORT = "SELECT * FROM products"


def export_requests(s: Spans, durations: list[float]) -> None:
    for i, duration in enumerate(durations):
        r = s.request("GET /catalog/export", start=i * 1000, duration=duration + 20)
        s.query(r, EXPORT, start=i * 1000 + 1, duration=duration)


def slow_queries(s: Spans, config: Config | None = None) -> list[Finding]:
    return [f for f in analyze(s.frame(), config).findings if f.kind == "slow_query"]


def test_a_statement_whose_p95_passes_the_threshold() -> None:
    s = Spans()
    durations = [50.0] * 18 + [150.0, 250.0]
    export_requests(s, durations)
    (finding,) = slow_queries(s)
    # numpy: position 19 * 0.95 = 18.05 -> 150 + 0.05 * 100 = 155.
    assert finding.evidence["p95_ms"] == pytest.approx(155.0)
    assert finding.evidence["calls"] == 20
    # Time above 100 ms: 50 + 150 over the 20 requests that ran it.
    assert finding.saved_ms_per_request == pytest.approx(200 / 20)
    assert finding.saved_ms_total == pytest.approx(200.0)
    assert finding.evidence["statement"] == EXPORT
    assert any("whole table" in h for h in finding.evidence["hints"])
    assert any("every column" in h for h in finding.evidence["hints"])
    assert "--app-db" in finding.suggestion.detail


def test_fast_statements_and_raised_thresholds() -> None:
    s = Spans()
    export_requests(s, [50.0] * 18 + [150.0, 250.0])
    config = Config(endpoints={"GET /catalog/export": {"slow_query_p95_ms": 500}})
    assert slow_queries(s, config) == []
    fast = Spans()
    export_requests(fast, [20.0] * 20)
    assert slow_queries(fast) == []


def test_hints_read_the_shape_of_the_statement() -> None:
    assert hints("SELECT a FROM t WHERE name LIKE '%son'")[0].startswith("LIKE")
    assert hints("SELECT a FROM t WHERE name LIKE ?") == []
    aggregate = hints("SELECT kind, count(*) FROM t WHERE x = 1 GROUP BY kind")
    assert [h.split()[1] for h in aggregate] == ["aggregates"]
    assert hints("SELECT a FROM t WHERE x = ? ORDER BY a")[0].startswith("It sorts")
    assert hints("UPDATE t SET a = 1") == []
    wrapped = hints("SELECT a FROM t WHERE lower(t.name) LIKE lower(?) LIMIT ?")
    assert wrapped == [
        "It filters on LOWER(t.name): a function around the column keeps a plain "
        "index from being used; index the expression itself, or store the value "
        "already transformed."
    ]
