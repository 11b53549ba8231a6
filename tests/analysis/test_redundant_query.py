from __future__ import annotations

import pytest

from perfkit.analysis import analyze
from tests.analysis.builders import Spans

ME = "SELECT users.id, users.name FROM users WHERE users.id = 42"


def test_the_same_values_asked_three_times_anywhere_in_the_request() -> None:
    s = Spans()
    r = s.request("GET /dashboard", duration=100)
    for j, name in enumerate(["header", "sidebar", "footer"]):
        part = s.internal(r, name, start=10 * j, duration=8)
        s.query(part, ME, start=10 * j + 1, duration=2)
    (finding,) = analyze(s.frame()).findings
    assert finding.kind == "redundant_query"
    assert finding.evidence["count_per_request"] == 3
    assert finding.evidence["statement"] == (
        "SELECT users.id, users.name FROM users WHERE users.id = ?"
    )
    # 6 ms of the same query; reusing the first result keeps one, 2 ms.
    assert finding.evidence["total_ms"] == pytest.approx(6.0)
    assert finding.saved_ms_per_request == pytest.approx(4.0)


def test_twice_is_not_redundant_enough() -> None:
    s = Spans()
    r = s.request("GET /dashboard", duration=100)
    s.query(r, ME, start=1, duration=2)
    s.query(r, ME, start=5, duration=2)
    assert analyze(s.frame()).findings == []


def test_duplicates_inside_an_n_plus_one_are_left_to_it() -> None:
    s = Spans()
    r = s.request("GET /orders", duration=100)
    for j, customer in enumerate([1, 1, 1, 2, 3, 4]):
        statement = f"SELECT * FROM customers WHERE customers.id = {customer}"
        s.query(r, statement, start=j * 10, duration=2)
    (finding,) = analyze(s.frame()).findings
    assert finding.kind == "n_plus_one_query"
    assert finding.evidence["distinct_parameter_sets"] == 4
