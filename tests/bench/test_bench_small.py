"""The benchmark at 10,000 spans: its script works, and speed costs no correctness.

The first test runs bench/run.py end to end, once, on a generated file and
checks its table. The others compare what perfkit finds in that file with
tests/bench/reference.py, a plain implementation of the same definitions.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from . import reference

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
SPANS = 10_000
FINDING_KINDS = (
    "n_plus_one_query",
    "redundant_query",
    "n_plus_one_http",
    "missing_index",
    "slow_query",
    "slow_external_call",
)
CONTENDERS = (
    "floor",
    "duckdb",
    "pandas",
    "bare_insert",
    "ingest",
    "analyze_files",
    "analyze_stored",
)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated OTLP JSON Lines file of 10,000 spans."""
    path = tmp_path_factory.mktemp("bench") / "spans.jsonl"
    _generate(path)
    return path


def _generate(path: Path) -> None:
    command = [sys.executable, str(BENCH / "generate.py"), "--spans", str(SPANS)]
    subprocess.run([*command, "-o", str(path)], check=True, capture_output=True)


@pytest.mark.slow
def test_benchmark_script_measures_every_contender(
    sample: Path, tmp_path: Path
) -> None:
    shutil.copy(sample, tmp_path / f"spans-{SPANS}.jsonl")
    figures, doc = tmp_path / "figures.json", tmp_path / "benchmarks.md"
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH / "run.py"),
            *("--spans", str(SPANS), "--repeat", "1"),
            *("--workdir", str(tmp_path), "--json", str(figures), "--output", str(doc)),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr

    measured = json.loads(figures.read_text())["sizes"][str(SPANS)]
    assert set(measured) == set(CONTENDERS)
    for key, runs in measured.items():
        (wall,), (peak,) = runs["wall_s"], runs["peak_mb"]
        assert 0 < wall < 300, key
        assert 5 < peak < 4000, key
    text = doc.read_text()
    for title in ("floor: orjson parse", "peer: DuckDB", "perfkit ingest"):
        assert title in text
    assert "| target | measured | limit | met |" in text
    assert "python bench/run.py --spans 10000" in text

    # The saved figures give the same report again, without measuring.
    again = tmp_path / "again.md"
    subprocess.run(
        [
            *(sys.executable, str(BENCH / "run.py")),
            *("--from-json", str(figures), "--output", str(again)),
        ],
        check=True,
        capture_output=True,
    )
    assert again.read_text() == text


def test_generator_is_deterministic_and_exact(sample: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.jsonl"
    _generate(again)
    assert again.read_bytes() == sample.read_bytes()
    spans = reference.read_spans(sample)
    assert len(spans) == SPANS
    assert len({(s.trace_id, s.span_id) for s in spans}) == SPANS
    endpoints = {(s.service, reference.endpoint_of(s)) for s in spans if s.kind == 2}
    assert len(endpoints) == 12


@pytest.fixture(scope="module")
def analysed(sample: Path) -> tuple[Any, list[reference.Span]]:
    """perfkit's analysis of the sample, and the reference's spans."""
    perfkit = pytest.importorskip("perfkit")
    analysis = pytest.importorskip("perfkit.analysis")
    if not hasattr(perfkit, "load") or not hasattr(analysis, "analyze"):
        pytest.skip("needs perfkit.load and perfkit.analysis.analyze")
    run = perfkit.load(sample)
    return analysis.analyze(run.spans), reference.read_spans(sample)


def test_endpoints_and_percentiles_match_the_reference(
    analysed: tuple[Any, list[reference.Span]],
) -> None:
    result, spans = analysed
    expected = reference.endpoint_stats(spans)
    got = {
        (row["service"], row["endpoint"]): row
        for row in result.endpoints.to_dict("records")
    }
    assert set(got) == set(expected)
    for key, want in expected.items():
        row = got[key]
        assert row["requests"] == want["requests"], key
        assert row["errors"] == want["errors"], key
        for column in ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "max_ms"):
            assert math.isclose(row[column], want[column], rel_tol=1e-9), (key, column)
        assert math.isclose(row["queries_per_request"], want["queries_per_request"]), (
            key
        )
        assert math.isclose(
            row["external_calls_per_request"], want["external_calls_per_request"]
        ), key


def test_findings_match_the_reference(
    analysed: tuple[Any, list[reference.Span]],
) -> None:
    result, spans = analysed
    expected = reference.findings(spans)
    # The generated traffic gives every detector work.
    assert {key[0] for key in expected} == set(FINDING_KINDS)
    got = {_key(f): f for f in result.findings}
    assert set(got) == set(expected)
    for key, want in expected.items():
        finding = got[key]
        assert finding.requests_affected == want["requests_affected"], key
        repeats = _repeats(finding.evidence)
        if repeats is not None:
            assert repeats["median"] == want["repeats_median"], key
            assert repeats["max"] == want["repeats_max"], key
        if "p95_ms" in want:
            assert finding.evidence["calls"] == want["calls"], key
            assert finding.evidence["p95_ms"] == pytest.approx(want["p95_ms"], abs=1e-3)


def _key(finding: Any) -> reference.Key:
    on_host = finding.kind in ("n_plus_one_http", "slow_external_call")
    subject = finding.evidence["host" if on_host else "table"]
    return (finding.kind, finding.service, finding.endpoint, subject)


def _repeats(evidence: dict[str, Any]) -> dict[str, float] | None:
    for name in (
        "repeats_per_request",
        "executions_per_request",
        "calls_per_request",
    ):
        if name in evidence:
            return evidence[name]
    return None
