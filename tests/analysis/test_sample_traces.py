"""The detectors against the demo shop's recordings and their answer key.

``sample_traces/before`` seeds one problem per endpoint (the answer key says
which); ``sample_traces/after`` fixes them. Every seeded problem a detector
here looks for must be found on its endpoint, nothing may be flagged on a
healthy endpoint, and the fixed problems must be gone. The serialization
problem comes from profiles, which these trace detectors do not read.

Skipped until the recordings exist (``python -m examples.shop record``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

import perfkit
from perfkit.analysis import Analysis, analyze
from perfkit.analysis.detectors import DETECTORS
from perfkit.config import Config

SAMPLES = Path(__file__).resolve().parents[2] / "sample_traces"
KEY_FILE = SAMPLES / "answer_key.json"

pytestmark = pytest.mark.skipif(
    not (KEY_FILE.is_file() and (SAMPLES / "before").is_dir()),
    reason="sample_traces are not recorded (python -m examples.shop record)",
)


@pytest.fixture(scope="module")
def key() -> dict[str, Any]:
    key: dict[str, Any] = orjson.loads(KEY_FILE.read_bytes())
    return key


def _analysis(variant: str, app_db: str | None = None) -> Analysis:
    run = perfkit.load(SAMPLES / variant)
    # The documented defaults, whatever config file the checkout holds.
    return analyze(run.spans, Config(), app_db=app_db, label=variant)


@pytest.fixture(scope="module")
def before() -> Analysis:
    return _analysis("before")


@pytest.fixture(scope="module")
def after() -> Analysis:
    if not (SAMPLES / "after").is_dir():
        pytest.skip("sample_traces/after is not recorded")
    return _analysis("after")


def _on(analysis: Analysis, endpoint: str) -> list[str]:
    return sorted(f.kind for f in analysis.findings if f.endpoint == endpoint)


def _endpoints(key: dict[str, Any], **wanted: str) -> list[str]:
    return [
        name
        for name, entry in key["endpoints"].items()
        if all(entry[field] == value for field, value in wanted.items())
    ]


def test_every_seeded_problem_is_found_on_its_endpoint(
    key: dict[str, Any], before: Analysis
) -> None:
    seeded = {
        name: entry["problem"]
        for name, entry in key["endpoints"].items()
        if entry["problem"] in DETECTORS
    }
    assert seeded, "the answer key seeds no problem these detectors look for"
    missed = {e: k for e, k in seeded.items() if k not in _on(before, e)}
    assert missed == {}


def test_nothing_is_flagged_on_healthy_endpoints(
    key: dict[str, Any], before: Analysis
) -> None:
    healthy = _endpoints(key, problem="healthy")
    assert {e: _on(before, e) for e in healthy} == {e: [] for e in healthy}


def test_the_fixed_problems_are_gone(key: dict[str, Any], after: Analysis) -> None:
    fixed = {
        name: entry["problem"]
        for name, entry in key["endpoints"].items()
        if entry["after"] == "fixed" and entry["problem"] in DETECTORS
    }
    still = {e: k for e, k in fixed.items() if k in _on(after, e)}
    assert still == {}


def test_healthy_endpoints_stay_clean_after(
    key: dict[str, Any], after: Analysis
) -> None:
    healthy = _endpoints(key, problem="healthy", after="healthy")
    assert {e: _on(after, e) for e in healthy} == {e: [] for e in healthy}


def test_the_missing_index_names_its_table_and_column(
    key: dict[str, Any], before: Analysis
) -> None:
    expected = key["missing_index"]
    (finding,) = [
        f
        for f in before.findings
        if f.kind == "missing_index" and f.endpoint == expected["endpoint"]
    ]
    assert finding.evidence["table"] == expected["table"]
    assert finding.evidence["columns"] == [expected["column"]]
    index = f"ix_{expected['table']}_{expected['column']}"
    assert index in (finding.suggestion.code or "")


def test_the_n_plus_one_counts_match_the_key(
    key: dict[str, Any], before: Analysis
) -> None:
    for endpoint in _endpoints(key, problem="n_plus_one_query"):
        low, high = key["endpoints"][endpoint]["queries_per_request"]["before"]
        (finding,) = [
            f
            for f in before.findings
            if f.kind == "n_plus_one_query" and f.endpoint == endpoint
        ]
        # The key counts every statement; the N+1 is all of them but the first.
        assert low - 1 <= finding.evidence["count_per_request"] <= high - 1


def test_the_application_database_proves_the_missing_index(
    key: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    database = Path(key["database"]["default_paths"]["before"])
    if not database.is_absolute():
        database = SAMPLES.parent / database
    if not database.is_file():
        # Build it as the README's main job does: same seed, same rows.
        from examples.shop.seed import seed_database

        database = tmp_path_factory.mktemp("shop") / "shop-before.db"
        seed_database(database, "before")
    analysis = _analysis("before", app_db=f"sqlite:///{database}")
    expected = key["missing_index"]
    (finding,) = [
        f
        for f in analysis.findings
        if f.kind == "missing_index" and f.endpoint == expected["endpoint"]
    ]
    assert finding.confidence == "high"
    assert finding.evidence["plan"]
