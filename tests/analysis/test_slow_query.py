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


def test_slow_sql_beside_a_slow_command_of_a_database_sqlglot_does_not_know() -> None:
    # A PostgreSQL statement and a Redis command, both slow: the Redis one has
    # no sqlglot dialect, which once reached sqlglot as pd.NA and crashed.
    s = Spans()
    for i in range(3):
        r = s.request("GET /cache", start=i * 1000, duration=600)
        s.query(r, "GET user:42", start=i * 1000 + 10, duration=250, system="redis")
        s.query(r, EXPORT, start=i * 1000 + 300, duration=250, system="postgresql")
    found = {f.evidence["table"]: f for f in slow_queries(s)}
    assert set(found) == {"products", None}
    # 150 ms above the 100 ms threshold on each of the 3 requests.
    assert all(f.saved_ms_per_request == pytest.approx(150.0) for f in found.values())
    redis = found[None]
    assert redis.title == "Slow query: p95 250.0 ms over 3 calls"
    assert redis.suggestion.summary == "Make the query faster"
    assert (
        found["products"].title == "Slow query on products: p95 250.0 ms over 3 calls"
    )


def test_a_hint_quoting_the_statement_quotes_no_value() -> None:
    # hints() reads the raw statement (a leading wildcard shows only there);
    # the function it names must not carry the statement's values with it.
    (wrapped, _) = hints("SELECT * FROM u WHERE coalesce(email, 'bob@x.com') = 'y'")
    assert wrapped.startswith("It filters on COALESCE(email, ?): ")
    assert "bob" not in wrapped
