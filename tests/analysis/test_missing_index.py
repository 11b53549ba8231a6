from __future__ import annotations

import ast

import pytest

from perfkit.analysis import Finding, analyze
from perfkit.analysis.explain import FullScan, IndexProposal, PlanReport
from perfkit.errors import AppDatabaseError
from tests.analysis.builders import Spans

SALES = (
    "SELECT count(order_items.id) AS count_1, coalesce(sum(order_items.quantity), ?) "
    "AS coalesce_1 \nFROM order_items \nWHERE order_items.product_id = ?"
)


def sales_requests(s: Spans, *, requests: int, duration: float) -> None:
    for i in range(requests):
        t = i * 1000
        r = s.request(
            "GET /products/{product_id}/sales", start=t, duration=duration + 5
        )
        s.query(r, SALES, start=t + 1, duration=duration)


def by_kind(found: list[Finding]) -> dict[str, list[Finding]]:
    kinds: dict[str, list[Finding]] = {}
    for f in found:
        kinds.setdefault(f.kind, []).append(f)
    return kinds


def test_a_frequent_query_filtering_an_unindexed_column() -> None:
    s = Spans()
    sales_requests(s, requests=60, duration=8.0)
    (finding,) = analyze(s.frame()).findings
    assert finding.kind == "missing_index"
    assert finding.confidence == "low"
    assert finding.evidence["table"] == "order_items"
    assert finding.evidence["columns"] == ["product_id"]
    assert finding.evidence["source"] == "statement and timings"
    assert finding.evidence["calls"] == 60
    # Each 8 ms execution would take the assumed 1 ms with the index.
    assert finding.saved_ms_per_request == pytest.approx(7.0)
    assert finding.saved_ms_total == pytest.approx(420.0)
    suggestion = finding.suggestion
    assert suggestion.code == (
        "CREATE INDEX ix_order_items_product_id ON order_items (product_id);"
    )
    ((name, text),) = suggestion.files.items()
    assert name.endswith("_add_ix_order_items_product_id.py")
    tree = ast.parse(text)
    functions = {
        n.name: ast.unparse(n) for n in tree.body if isinstance(n, ast.FunctionDef)
    }
    assert (
        "op.create_index('ix_order_items_product_id', 'order_items', ['product_id'],"
        " unique=False)" in (functions["upgrade"])
    )
    assert (
        "op.drop_index('ix_order_items_product_id', table_name='order_items')"
        in (functions["downgrade"])
    )


def test_a_slow_query_explained_by_an_index_is_not_also_a_slow_query() -> None:
    s = Spans()
    sales_requests(s, requests=5, duration=150.0)
    kinds = by_kind(analyze(s.frame()).findings)
    assert list(kinds) == ["missing_index"]
    assert kinds["missing_index"][0].saved_ms_per_request == pytest.approx(149.0)


def test_cheap_or_rare_queries_are_not_candidates() -> None:
    s = Spans()
    sales_requests(s, requests=60, duration=0.5)  # frequent but cheap
    sales_requests(s, requests=10, duration=8.0)  # not cheap, but rare
    assert analyze(s.frame()).findings == []


@pytest.mark.parametrize(
    "statement",
    [
        # By primary key: indexed already.
        "SELECT products.name FROM products WHERE products.id = ?",
        # Only a join: which side needs the index is unknown without a schema.
        "SELECT p.name FROM products AS p JOIN categories AS c ON p.category_id = c.id",
        # Not a SELECT.
        "UPDATE products SET stock = ? WHERE products.sku = ?",
    ],
)
def test_slow_statements_without_an_unindexed_filter_are_slow_queries(
    statement: str,
) -> None:
    s = Spans()
    for i in range(5):
        r = s.request("GET /x", start=i * 1000, duration=200)
        s.query(r, statement, start=i * 1000 + 1, duration=150)
    assert [f.kind for f in analyze(s.frame()).findings] == ["slow_query"]


def _plan(*, full_scan: bool) -> PlanReport:
    proposal = IndexProposal(
        table="order_items",
        columns=["product_id"],
        name="ix_order_items_product_id",
        create_sql=(
            'CREATE INDEX "ix_order_items_product_id" ON "order_items" ("product_id");'
        ),
        drop_sql='DROP INDEX "ix_order_items_product_id";',
        migration_text="# the migration\n",
        migration_filename="abc_add_ix_order_items_product_id.py",
        advice="Build it CONCURRENTLY.",
    )
    return PlanReport(
        dialect="postgresql",
        plan_lines=["Seq Scan on order_items", "  Filter: (product_id = 1)"],
        full_scans=[FullScan("order_items", ["product_id"])] if full_scan else [],
        uses_index=not full_scan,
        cost=1000.0,
        cost_with_index=100.0 if full_scan else None,
        index_proposal=proposal if full_scan else None,
    )


def test_the_plan_proves_the_missing_index(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, str, int]] = []

    def explain(url: str, statement: str, *, timeout_ms: int = 2000) -> PlanReport:
        asked.append((url, statement, timeout_ms))
        return _plan(full_scan=True)

    monkeypatch.setattr("perfkit.analysis.explain.explain_statement", explain)
    s = Spans()
    sales_requests(s, requests=60, duration=8.0)
    (finding,) = analyze(s.frame(), app_db="sqlite:///shop.db").findings
    # The statement as the scan leaves it: values as placeholders, one line.
    assert asked == [("sqlite:///shop.db", " ".join(SALES.split()), 2000)]
    assert finding.confidence == "high"
    assert finding.evidence["source"] == "query plan"
    assert finding.evidence["plan"][0] == "Seq Scan on order_items"
    # The planner costs 1000 without the index and 100 with it: 90% of 8 ms.
    assert finding.saved_ms_per_request == pytest.approx(7.2)
    assert finding.suggestion.code.startswith(
        'CREATE INDEX "ix_order_items_product_id"'
    )
    assert finding.suggestion.files == {
        "abc_add_ix_order_items_product_id.py": "# the migration\n"
    }


def test_a_plan_using_an_index_clears_the_statement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        "perfkit.analysis.explain.explain_statement",
        lambda url, statement, timeout_ms=2000: _plan(full_scan=False),
    )
    s = Spans()
    sales_requests(s, requests=60, duration=8.0)
    assert analyze(s.frame(), app_db="sqlite:///shop.db").findings == []


@pytest.mark.parametrize(
    "outcome", [None, AppDatabaseError("cannot connect to sqlite:///nowhere.db")]
)
def test_without_a_plan_the_advice_is_inferred_and_the_user_told(
    monkeypatch: pytest.MonkeyPatch, outcome: object
) -> None:
    def explain(
        url: str, statement: str, *, timeout_ms: int = 2000
    ) -> PlanReport | None:
        if isinstance(outcome, Exception):
            raise outcome
        return None

    monkeypatch.setattr("perfkit.analysis.explain.explain_statement", explain)
    s = Spans()
    sales_requests(s, requests=60, duration=8.0)
    analysis = analyze(s.frame(), app_db="sqlite:///nowhere.db")
    (finding,) = analysis.findings
    assert finding.confidence == "low"
    assert any("inferred" in w for w in analysis.warnings)


def test_a_hostile_table_name_stays_inert_in_the_inferred_migration() -> None:
    from perfkit.analysis.detectors._migration import index_suggestion

    table = 'x"""\nimport os; os.system("touch /tmp/pwned")\n"""'
    suggestion = index_suggestion(table, ["a"], dialect="sqlite", reason='see """ here')
    ((_, text),) = suggestion.files.items()
    tree = ast.parse(text)
    # Only the docstring, the import, four assignments and two functions.
    kinds = [type(node).__name__ for node in tree.body]
    assert kinds == ["Expr", "ImportFrom", "Assign", "Assign", "Assign", "Assign",
                     "FunctionDef", "FunctionDef"]  # fmt: skip
    (upgrade,) = [n for n in tree.body if getattr(n, "name", "") == "upgrade"]
    (call,) = [n for n in ast.walk(upgrade) if isinstance(n, ast.Call)]
    assert ast.literal_eval(call.args[1]) == table


def test_the_values_the_plan_prints_back_are_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The statement EXPLAINed is the trace's slowest execution, values and
    # all; PostgreSQL prints them back in the plan.
    report = _plan(full_scan=True)
    lines = [
        "Seq Scan on order_items  (cost=0.00..983.00 rows=1)",
        "     Filter: ((note = 'bob@example.com'::text) AND (product_id = 4217))",
        "  ->  Index Scan using ix_a on a_2  (cost=0.29..8.31 rows=1)",
        "        Index Cond: (code = 'it''s secret'::text)",
    ]
    monkeypatch.setattr(
        "perfkit.analysis.explain.explain_statement",
        lambda url, statement, timeout_ms=2000: PlanReport(
            **{**report.__dict__, "plan_lines": lines}
        ),
    )
    s = Spans()
    sales_requests(s, requests=60, duration=8.0)
    (finding,) = analyze(s.frame(), app_db="sqlite:///shop.db").findings
    assert finding.evidence["plan"] == [
        "Seq Scan on order_items  (cost=0.00..983.00 rows=1)",
        "     Filter: ((note = ?::text) AND (product_id = ?))",
        "  ->  Index Scan using ix_a on a_2  (cost=0.29..8.31 rows=1)",
        "        Index Cond: (code = ?::text)",
    ]


def test_statements_wanting_the_same_index_make_one_finding() -> None:
    # Two statements on one endpoint filter order_items on product_id: one
    # index serves both, so one finding, with one id.
    counts = SALES.replace("count(order_items.id)", "count(*)")
    s = Spans()
    for i in range(60):
        t = i * 1000
        r = s.request("GET /products/{product_id}/sales", start=t, duration=30)
        s.query(r, SALES, start=t + 1, duration=8.0)
        s.query(r, counts, start=t + 10, duration=6.0)
    (finding,) = analyze(s.frame()).findings
    assert finding.kind == "missing_index"
    assert finding.evidence["calls"] == 120
    assert finding.requests_affected == 60
    # Above the assumed 1 ms with the index: 7 + 5 ms a request.
    assert finding.saved_ms_per_request == pytest.approx(12.0)
    assert finding.saved_ms_total == pytest.approx(720.0)
    assert finding.evidence["total_ms"] == pytest.approx(14.0)
    assert finding.evidence["statement"].startswith("SELECT COUNT(order_items.id)")
    assert len(finding.evidence["fingerprints"]) == 2
    (other,) = finding.evidence["other_statements"]
    assert other.startswith("SELECT COUNT(*)")
    assert finding.title.endswith("over 120 calls (2 statements)")


def test_the_values_of_the_trace_never_reach_the_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The database would quote them back in its plan or in an error message
    # ("invalid input syntax for type integer: \"bob@example.com\"").
    asked: list[str] = []

    def explain(url: str, statement: str, *, timeout_ms: int = 2000) -> PlanReport:
        asked.append(statement)
        return _plan(full_scan=True)

    monkeypatch.setattr("perfkit.analysis.explain.explain_statement", explain)
    s = Spans()
    for i in range(60):
        r = s.request("GET /u", start=i * 1000, duration=20)
        statement = (
            f"SELECT * FROM order_items WHERE product_id = {i} "
            f"AND note = 'bob{i}@example.com' /* app='shop' */"
        )
        s.query(r, statement, start=i * 1000 + 1, duration=8.0)
    analyze(s.frame(), app_db="sqlite:///shop.db")
    assert asked == ["SELECT * FROM order_items WHERE product_id = ? AND note = ?"]
