from __future__ import annotations

import pandas as pd
import pytest

from perfkit import __version__
from perfkit.analysis import FINDING_COLUMNS, analyze, findings_frame
from perfkit.analysis.detectors._base import Context
from perfkit.config import Config
from perfkit.ingest.schema import empty_frame
from tests.analysis.builders import Spans
from tests.analysis.test_n_plus_one_query import lazy_loads


def two_problems() -> Spans:
    s = Spans()
    lazy_loads(s, requests=3)  # an N+1 saving 80 ms on each of 3 requests
    for i in range(3):
        r = s.request("GET /price", start=5000 + i * 1000, duration=320)
        s.call(r, "http://supplier/prices/1", start=5000 + i * 1000 + 10, duration=300)
    return s


def test_findings_are_ordered_by_severity_then_saving() -> None:
    analysis = analyze(two_problems().frame(), label="before", inputs=["a.jsonl"])
    assert [f.kind for f in analysis.findings] == [
        "slow_external_call",
        "n_plus_one_query",
    ]
    # Both critical: the N+1 saves 240 of its endpoint's 450 ms (over half)
    # and 17% of the service's 1,410 ms; the supplier calls save more.
    assert [f.severity for f in analysis.findings] == ["critical", "critical"]
    assert analysis.findings[0].saved_ms_total > analysis.findings[1].saved_ms_total
    assert analysis.run_label == "before"
    assert analysis.inputs == ["a.jsonl"]
    assert analysis.spans == len(two_problems().rows)
    assert analysis.perfkit_version == __version__


def test_suppressed_ids_are_left_out() -> None:
    frame = two_problems().frame()
    ids = [f.id for f in analyze(frame).findings]
    kept = analyze(frame, Config(suppress=frozenset(ids[:1]))).findings
    assert [f.id for f in kept] == ids[1:]


def test_the_results_say_how_many_findings_were_suppressed() -> None:
    # Without it, "No findings" would read as "nothing is wrong".
    frame = two_problems().frame()
    ids = frozenset(f.id for f in analyze(frame).findings)
    analysis = analyze(frame, Config(suppress=ids))
    assert analysis.findings == []
    assert "2 finding(s) left out: their ids are in 'suppress'" in analysis.warnings
    assert not any("left out" in w for w in analyze(frame).warnings)


def test_an_endpoint_override_that_matches_nothing_is_pointed_out() -> None:
    # A typo in the endpoint's name would quietly leave the defaults in force.
    config = Config(endpoints={"GET /prices": {"slow_external_p95_ms": 500.0}})
    warnings = analyze(two_problems().frame(), config).warnings
    assert (
        "the config's overrides for endpoint 'GET /prices' match no endpoint in "
        "these traces; did you mean 'GET /price'?"
    ) in warnings
    matching = Config(endpoints={"GET /price": {"slow_external_p95_ms": 500.0}})
    assert not any(
        "overrides" in w for w in analyze(two_problems().frame(), matching).warnings
    )


def test_findings_frame() -> None:
    findings = analyze(two_problems().frame()).findings
    frame = findings_frame(findings)
    assert tuple(frame.columns) == FINDING_COLUMNS
    assert frame["kind"].tolist() == ["slow_external_call", "n_plus_one_query"]
    assert frame["suggestion"].iloc[1] == findings[1].suggestion.summary
    assert frame["evidence"].iloc[1]["table"] == "books"
    assert tuple(findings_frame([]).columns) == FINDING_COLUMNS


def test_warnings_say_what_limits_the_results() -> None:
    s = two_problems()
    s.trace_id = "e" * 32
    job = s.internal(None, "cron", start=0, duration=10)
    s.query(job, start=1, duration=1)
    warnings = analyze(s.frame()).warnings
    assert any("2 endpoint(s) have fewer than 20 requests" in w for w in warnings)
    assert any("1 database or HTTP call(s) have no SERVER span" in w for w in warnings)


def test_statements_outside_database_calls_are_ignored() -> None:
    s = two_problems()
    request = s.rows[0]["span_id"]
    s.internal(request, "render", start=1, duration=1, db_statement="SELECT 1")
    kinds = [f.kind for f in analyze(s.frame()).findings]
    assert kinds == ["slow_external_call", "n_plus_one_query"]


def test_no_requests_at_all() -> None:
    analysis = analyze(empty_frame())
    assert analysis.findings == []
    assert analysis.endpoints.empty
    assert analysis.top_endpoints == []
    assert "no SERVER spans" in analysis.warnings[0]


@pytest.mark.parametrize(
    ("endpoint", "saved", "severity"),
    [
        ("GET /b", 300.0, "critical"),  # 30% of the service
        ("GET /a", 120.0, "critical"),  # 60% of the endpoint, 12% of the service
        ("GET /b", 120.0, "high"),  # 12% of the service
        ("GET /a", 60.0, "high"),  # 30% of the endpoint, 6% of the service
        ("GET /b", 30.0, "medium"),  # 3% of the service
        ("GET /a", 12.0, "medium"),  # 6% of the endpoint
        ("GET /b", 12.0, "low"),  # 1.5% of the endpoint, 1.2% of the service
    ],
)
def test_severity_follows_the_share_of_time_saved(
    endpoint: str, saved: float, severity: str
) -> None:
    stats = pd.DataFrame(
        {
            "service": ["shop", "shop"],
            "endpoint": ["GET /a", "GET /b"],
            "total_ms": [200.0, 800.0],
            "requests": [10, 10],
        }
    )
    context = Context(None, None, None, stats, Config())  # type: ignore[arg-type]
    assert context.severity("shop", endpoint, saved) == severity
