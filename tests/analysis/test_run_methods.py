from __future__ import annotations

import pytest

from perfkit.analysis import FINDING_COLUMNS, STAT_COLUMNS
from perfkit.run import Run
from tests.analysis.builders import Spans
from tests.analysis.test_n_plus_one_query import lazy_loads


@pytest.fixture
def run(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.chdir(tmp_path)  # no config file: the defaults
    s = Spans()
    lazy_loads(s, requests=3)
    for i in range(25):
        s.request("GET /healthz", start=10_000 + i * 10, duration=1 + i)
    return Run("before", s.frame(), sources=("a.jsonl",))


def test_run_gives_its_analysis_as_dataframes(run: Run) -> None:
    endpoints = run.endpoints()
    assert tuple(endpoints.columns) == STAT_COLUMNS
    assert endpoints["endpoint"].tolist() == ["GET /healthz", "GET /authors"]

    top = run.top_endpoints(1)
    assert top["endpoint"].tolist() == ["GET /healthz", "GET /authors"]
    assert top["rank"].iloc[0] == 1
    assert top["note"].iloc[1] == "not enough data: 3 requests, 20 needed for a p95"

    findings = run.findings()
    assert tuple(findings.columns) == FINDING_COLUMNS
    assert findings["kind"].tolist() == ["n_plus_one_query"]


def test_the_analysis_is_computed_once(run: Run) -> None:
    assert run.analysis is run.analysis
    assert run.analysis.run_label == "before"
    assert run.analysis.inputs == ["a.jsonl"]


def test_a_negative_number_of_top_endpoints_is_refused(run: Run) -> None:
    # -1 once gave an empty table, as if nothing were slow.
    with pytest.raises(ValueError, match="n must be 0 or more, not -1"):
        run.top_endpoints(-1)
    assert run.top_endpoints(0)["rank"].notna().sum() == 0
