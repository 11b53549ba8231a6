from __future__ import annotations

import pytest

from perfkit.analysis import Finding, analyze
from perfkit.config import Config
from tests.analysis.builders import SQLITE_SELECT_BOOKS, Spans

AUTHORS = "SELECT authors.id, authors.name FROM authors"


def n_plus_ones(s: Spans, config: Config | None = None) -> list[Finding]:
    found = analyze(s.frame(), config).findings
    return [f for f in found if f.kind == "n_plus_one_query"]


def lazy_loads(s: Spans, requests: int = 3) -> None:
    """Per request (150 ms): the authors, then their books one author at a
    time, 4+4+4+4+10 ms, each behind a connection checkout."""
    for i in range(requests):
        t = i * 1000
        r = s.request("GET /authors", start=t, duration=150)
        s.query(r, AUTHORS, start=t + 1, duration=2)
        for j, duration in enumerate([4, 4, 4, 4, 10]):
            s.connect(r, start=t + 10 + 20 * j)
            s.query(r, start=t + 11 + 20 * j, duration=duration)


def test_repeats_with_connect_spans_between_them() -> None:
    s = Spans()
    lazy_loads(s)
    (finding,) = n_plus_ones(s)
    assert (finding.service, finding.endpoint) == ("shop", "GET /authors")
    # The loop runs from the first repeat's start (11 ms) to the last one's end
    # (91 + 10 ms): 90 ms, of which one batched query keeps the longest, 10 ms.
    assert finding.saved_ms_per_request == pytest.approx(80.0)
    assert finding.saved_ms_total == pytest.approx(240.0)
    assert finding.requests_affected == 3
    # 240 of the service's 450 ms: over 25%.
    assert finding.severity == "critical"
    assert finding.confidence == "medium"
    evidence = finding.evidence
    assert evidence["count_per_request"] == 5
    assert evidence["max_count_per_request"] == 5
    assert evidence["total_ms"] == pytest.approx(26.0)
    # 26 ms on each of 3 requests of 150 ms.
    assert evidence["share_of_endpoint"] == pytest.approx(78 / 450, abs=1e-4)
    assert evidence["parameters"] == "not recorded; assumed to differ"
    assert evidence["parent_span"] == "GET /authors"
    assert evidence["table"] == "books"
    assert evidence["example_trace_id"] == s.rows[0]["trace_id"]
    assert evidence["statement"].endswith("WHERE books.author_id = ?")
    assert evidence["batched_statement"].endswith("books.author_id IN (?, ?, ...)")
    assert finding.suggestion.code == evidence["batched_statement"]
    assert "selectinload(Author.books)" in finding.suggestion.detail
    # The saving (80 ms) is more than the queries' 26 ms; the fix says why.
    assert (
        "the queries take 26.0 ms in the database, but the loop that issues them "
        "takes 90.0 ms" in finding.suggestion.detail
    )
    assert finding.id.startswith("n_plus_one_query:")


def test_the_id_is_stable_across_runs() -> None:
    first, second = Spans(), Spans()
    lazy_loads(first, requests=3)
    lazy_loads(second, requests=5)
    assert n_plus_ones(first)[0].id == n_plus_ones(second)[0].id


def test_overlapping_repeats_from_async_code() -> None:
    s = Spans()
    r = s.request("GET /authors", duration=100)
    for j in range(5):  # 10-15, 12-17, ... 18-23: 13 ms of wall time
        s.query(r, start=10 + 2 * j, duration=5)
    (finding,) = n_plus_ones(s)
    assert finding.evidence["overlapping"] is True
    assert finding.evidence["wall_ms"] == pytest.approx(13.0)
    assert finding.saved_ms_per_request == pytest.approx(13.0 - 5.0)


def test_repeats_each_wrapped_in_their_own_span_group_under_the_loop() -> None:
    s = Spans()
    r = s.request("GET /authors", duration=100)
    loop = s.internal(r, "render authors", start=1, duration=90)
    for j in range(6):
        wrapper = s.internal(loop, "load books", start=2 + 10 * j, duration=8)
        s.connect(wrapper, start=2 + 10 * j)
        s.query(wrapper, start=3 + 10 * j, duration=3)
    (finding,) = n_plus_ones(s)
    assert finding.evidence["parent_span"] == "render authors"
    assert finding.evidence["max_count_per_request"] == 6
    # Repeats from 3 ms to 53 + 3 ms: a 53 ms loop, less one 3 ms query.
    assert finding.saved_ms_per_request == pytest.approx(50.0)


def test_differing_inline_values_prove_the_n_plus_one() -> None:
    s = Spans()
    r = s.request("GET /authors", duration=100)
    for author in range(1, 7):
        statement = f"SELECT * FROM books WHERE books.author_id = {author}"
        s.query(r, statement, start=author * 10, duration=2)
    (finding,) = n_plus_ones(s)
    assert finding.confidence == "high"
    assert finding.evidence["parameters"] == "differ"
    assert finding.evidence["distinct_parameter_sets"] == 6
    assert "= ?" in finding.evidence["statement"]


def test_recorded_parameters_tell_n_plus_one_from_redundant() -> None:
    s = Spans()
    r = s.request("GET /differ", duration=100)
    for j in range(5):
        params = {"db.statement.parameters": f"({j},)"}
        s.query(r, start=j * 10, duration=2, attributes=params)
    r = s.request("GET /same", duration=100)
    for j in range(5):
        params = {"db.statement.parameters": "(7,)"}
        s.query(r, start=j * 10, duration=2, attributes=params)
    found = analyze(s.frame()).findings
    assert {(f.kind, f.endpoint) for f in found} == {
        ("n_plus_one_query", "GET /differ"),
        ("redundant_query", "GET /same"),
    }
    (n_plus_one,) = [f for f in found if f.kind == "n_plus_one_query"]
    assert n_plus_one.confidence == "high"
    assert n_plus_one.evidence["distinct_parameter_sets"] == 5


def test_the_same_query_twice_is_not_an_n_plus_one() -> None:
    s = Spans()
    for i in range(30):
        r = s.request("GET /products/compare", start=i * 100, duration=20)
        s.query(r, start=i * 100 + 1, duration=3)
        s.query(r, start=i * 100 + 5, duration=3)
    assert n_plus_ones(s) == []


def test_a_batched_in_query_is_not_an_n_plus_one() -> None:
    s = Spans()
    for i, size in enumerate([2, 5, 8, 3, 7, 6]):
        r = s.request("GET /cart/summary", start=i * 100, duration=20)
        ids = ", ".join("?" * size)
        s.query(
            r,
            f"SELECT * FROM products WHERE products.id IN ({ids})",
            start=i * 100 + 1,
            duration=3,
        )
    assert analyze(s.frame()).findings == []


def test_four_repeats_are_below_the_threshold_unless_the_endpoint_lowers_it() -> None:
    s = Spans()
    r = s.request("GET /authors", duration=100)
    for j in range(4):
        s.query(r, start=j * 10, duration=3)
    assert n_plus_ones(s) == []
    config = Config(endpoints={"GET /authors": {"n_plus_one_min_count": 4}})
    (finding,) = n_plus_ones(s, config)
    # Repeats from 0 to 30 + 3 ms: a 33 ms loop, less one 3 ms query.
    assert finding.saved_ms_per_request == pytest.approx(30.0)


def test_repeats_under_two_different_parents_do_not_add_up() -> None:
    s = Spans()
    r = s.request("GET /authors", duration=100)
    for name in ("first loop", "second loop"):
        loop = s.internal(r, name, start=1, duration=50)
        for j in range(3):
            s.query(loop, start=2 + j * 10, duration=3)
    assert n_plus_ones(s) == []


def test_identical_inline_values_are_redundant_not_n_plus_one() -> None:
    s = Spans()
    r = s.request("GET /me", duration=100)
    for j in range(6):
        s.query(r, "SELECT * FROM users WHERE users.id = 42", start=j * 10, duration=2)
    found = analyze(s.frame()).findings
    assert [f.kind for f in found] == ["redundant_query"]
    assert SQLITE_SELECT_BOOKS not in found[0].evidence["statement"]


def test_a_loop_of_redis_commands_is_an_n_plus_one_with_no_value_shown() -> None:
    # One GET per item: the keys hold user ids, the statement must not.
    s = Spans()
    for i in range(3):
        r = s.request("GET /feed", start=i * 1000, duration=100)
        for k in range(6):
            s.query(
                r,
                f"GET session:user-{k}-secret",
                start=i * 1000 + 10 + k * 10,
                duration=2,
                system="redis",
            )
    (finding,) = n_plus_ones(s)
    assert finding.evidence["statement"] == "GET ?"
    assert finding.evidence["table"] is None
    assert finding.title == "N+1 query: 6 × GET ? per request under 'GET /feed'"
    assert "MGET" in finding.suggestion.detail
    assert "selectinload" not in finding.suggestion.summary
    # The loop runs from 10 to 60 + 2 ms: 52 ms, less one 2 ms command.
    assert finding.saved_ms_per_request == pytest.approx(50.0)
    assert all("secret" not in str(v) for v in finding.evidence.values())


def test_other_calls_inside_the_loop_are_not_counted_as_the_loops_saving() -> None:
    # Per item: a 1 ms query, then a 100 ms call to a stock service. Batching
    # the queries saves their round trips, not the HTTP calls between them.
    s = Spans()
    for i in range(3):
        t = i * 2000
        r = s.request("GET /orders", start=t, duration=1020)
        for k in range(10):
            base = t + 5 + k * 101
            s.query(r, start=base, duration=1)
            s.call(r, f"http://stock/items/{k}", start=base + 1, duration=100)
    (finding,) = n_plus_ones(s)
    # The loop spans 5 to 915 ms and recorded calls fill all of it: ten 1 ms
    # queries, one kept as the batched query, save 9 ms; nothing is left
    # between them.
    assert finding.saved_ms_per_request == pytest.approx(9.0)
    assert finding.evidence["loop_ms"] == pytest.approx(910.0)
    # 27 of the service's 3,060 ms: under 2%, under 5% of the endpoint.
    assert finding.severity == "low"


def test_only_the_gaps_between_recorded_calls_count_in_the_loop() -> None:
    # Per item: a 2 ms query, 3 ms of ORM work, a 5 ms statement on one of
    # three audit tables (none repeated five times), 2 ms more work. Loop: 0
    # to 9 * 12 + 2 = 110 ms; queries 20 ms, audit statements 45 ms (the last
    # one runs after the loop's last query), gaps 110 - 20 - 45 = 45 ms.
    # Saving: 20 - 2 + 45 = 63 ms.
    s = Spans()
    r = s.request("GET /orders", start=0, duration=130)
    for k in range(10):
        s.query(r, start=k * 12, duration=2)
        audit = f"SELECT a.id FROM audit_{k % 3} AS a WHERE a.x = ?"
        s.query(r, audit, start=k * 12 + 5, duration=5)
    (finding,) = n_plus_ones(s)
    assert finding.evidence["statement"].endswith("WHERE books.author_id = ?")
    assert finding.saved_ms_per_request == pytest.approx(63.0)


def test_a_django_lazy_load_with_an_inline_limit_is_an_n_plus_one() -> None:
    # Django's .get() writes LIMIT 21 inline and the id as %s. The literal
    # once made the values look known, and equal: a "redundant query".
    django = (
        'SELECT "app_author"."id", "app_author"."name" FROM "app_author" '
        'WHERE "app_author"."id" = %s LIMIT 21'
    )
    s = Spans()
    for i in range(3):
        r = s.request("GET /books", start=i * 1000, duration=100)
        for k in range(8):
            s.query(r, django, start=i * 1000 + k * 5, duration=2, system="postgresql")
    found = analyze(s.frame()).findings
    assert [f.kind for f in found] == ["n_plus_one_query"]
    (finding,) = found
    assert finding.evidence["parameters"] == "not recorded; assumed to differ"
    assert finding.confidence == "medium"
    # Loop: 0 to 35 + 2 ms, less one 2 ms query.
    assert finding.saved_ms_per_request == pytest.approx(35.0)
