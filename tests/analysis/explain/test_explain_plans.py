"""EXPLAIN on each database: full scans found, indexes proposed and proven."""

from __future__ import annotations

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations

from perfkit.analysis.explain import FullScan, PlanReport, explain_statement
from tests.require_db import unavailable

from .conftest import AppDb

# As SQLAlchemy writes them: multi-line, aliased tables and labelled columns.
BY_AUTHOR = {
    "sqlite": (
        "SELECT books_1.id AS books_1_id, books_1.title AS books_1_title \n"
        "FROM books AS books_1 \n"
        "WHERE books_1.author_id = ?"
    ),
    "postgresql": (
        "SELECT books_1.id AS books_1_id, books_1.title AS books_1_title \n"
        "FROM books AS books_1 \n"
        "WHERE books_1.author_id = %(author_id_1)s"
    ),
    "mysql": (
        "SELECT books_1.id AS books_1_id, books_1.title AS books_1_title \n"
        "FROM books AS books_1 \n"
        "WHERE books_1.author_id = %(author_id_1)s"
    ),
}
BY_YEAR = {
    "sqlite": "SELECT books.id AS books_id \nFROM books \nWHERE books.year = ?",
    "postgresql": (
        "SELECT books.id AS books_id \nFROM books \nWHERE books.year = %(year_1)s"
    ),
    "mysql": "SELECT books.id AS books_id \nFROM books \nWHERE books.year = %s",
}
#: An equality and a range column, both unindexed: the date gets a date literal.
BY_AUTHOR_SINCE = (
    "SELECT b.id, b.title FROM books AS b\n"
    "WHERE b.published >= :since AND b.author_id = :author"
)


def _explain(app_db: AppDb, statement: str) -> PlanReport:
    report = explain_statement(app_db.url, statement)
    assert report is not None
    return report


def test_unindexed_filter_is_a_full_scan_with_a_proposal(app_db: AppDb) -> None:
    before = app_db.snapshot()

    report = _explain(app_db, BY_AUTHOR[app_db.backend])

    assert report.full_scans == [FullScan("books", ["author_id"])]
    assert report.uses_index is False
    assert report.cost_with_index is None
    proposal = report.index_proposal
    assert proposal is not None
    assert (proposal.table, proposal.columns) == ("books", ["author_id"])
    assert proposal.name == "ix_books_author_id"
    assert (
        proposal.create_sql == "CREATE INDEX ix_books_author_id ON books (author_id);"
    )
    assert any("books" in line for line in report.plan_lines)
    assert app_db.snapshot() == before


def test_dialect_and_cost_are_reported(app_db: AppDb) -> None:
    report = _explain(app_db, BY_AUTHOR[app_db.backend])

    expected = {"sqlite": {"sqlite"}, "postgresql": {"postgresql"}}
    assert report.dialect in expected.get(app_db.backend, {"mysql", "mariadb"})
    if app_db.backend == "postgresql":
        assert report.cost is not None
        assert report.cost > 0
    elif app_db.backend == "sqlite" or report.dialect == "mariadb":
        assert report.cost is None


def test_applying_the_proposal_makes_the_plan_use_it(app_db: AppDb) -> None:
    statement = BY_AUTHOR[app_db.backend]
    proposal = _explain(app_db, statement).index_proposal
    assert proposal is not None

    app_db.execute(proposal.create_sql)
    try:
        after = _explain(app_db, statement)
    finally:
        app_db.execute(proposal.drop_sql)

    assert after.uses_index is True
    assert after.full_scans == []
    assert after.index_proposal is None
    assert any("ix_books_author_id" in line for line in after.plan_lines)
    assert _explain(app_db, statement).index_proposal == proposal


def test_indexed_filter_uses_the_index_and_proposes_nothing(app_db: AppDb) -> None:
    before = app_db.snapshot()

    report = _explain(app_db, BY_YEAR[app_db.backend])

    assert report.uses_index is True
    assert report.full_scans == []
    assert report.index_proposal is None
    assert any("ix_books_year" in line for line in report.plan_lines)
    assert app_db.snapshot() == before


def test_equality_column_comes_before_the_range_column(app_db: AppDb) -> None:
    report = _explain(app_db, BY_AUTHOR_SINCE)

    assert report.full_scans == [FullScan("books", ["author_id", "published"])]
    assert report.index_proposal is not None
    assert report.index_proposal.columns == ["author_id", "published"]
    assert report.index_proposal.name == "ix_books_author_id_published"


def test_join_on_an_unindexed_column_proposes_it(app_db: AppDb) -> None:
    statement = (
        "SELECT a.name, b.title FROM authors AS a\n"
        "JOIN books AS b ON b.author_id = a.id\n"
        "WHERE a.id = 7"
    )

    report = _explain(app_db, statement)

    assert report.full_scans == [FullScan("books", ["author_id"])]
    assert report.index_proposal is not None
    assert report.index_proposal.columns == ["author_id"]


def test_no_proposal_when_an_index_already_leads_with_the_columns(
    app_db: AppDb,
) -> None:
    # A range matching every row: the planner may scan rather than use the
    # index, but the index exists, so that is no missing index.
    statement = "SELECT * FROM books WHERE year > 0"

    report = _explain(app_db, statement)

    assert report.index_proposal is None
    assert report.full_scans == []


def test_migration_upgrade_and_downgrade_apply(app_db: AppDb) -> None:
    statement = BY_AUTHOR[app_db.backend]
    proposal = _explain(app_db, statement).index_proposal
    assert proposal is not None
    namespace: dict[str, object] = {}
    exec(
        compile(proposal.migration_text, proposal.migration_filename, "exec"), namespace
    )

    with (
        app_db.admin.connect() as connection,
        Operations.context(MigrationContext.configure(connection)),
    ):
        namespace["upgrade"]()  # type: ignore[operator]
        connection.commit()
    try:
        upgraded = _explain(app_db, statement)
    finally:
        with (
            app_db.admin.connect() as connection,
            Operations.context(MigrationContext.configure(connection)),
        ):
            namespace["downgrade"]()  # type: ignore[operator]
            connection.commit()

    assert upgraded.uses_index is True
    assert upgraded.index_proposal is None
    assert _explain(app_db, statement).index_proposal == proposal


@pytest.mark.postgres
def test_any_array_parameter_is_planned(postgres_app: AppDb) -> None:
    statement = "SELECT * FROM books WHERE books.author_id = ANY(%(ids)s)"

    report = _explain(postgres_app, statement)

    assert report.full_scans == [FullScan("books", ["author_id"])]
    assert any("'{0}'" in line for line in report.plan_lines)


@pytest.mark.postgres
def test_hypopg_costs_the_proposed_index(postgres_app: AppDb) -> None:
    with postgres_app.admin.connect() as connection:
        available = connection.exec_driver_sql(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg'"
        ).first()
    if available is None:
        unavailable("the hypopg extension is not installed on this server")
    statement = BY_AUTHOR["postgresql"]
    postgres_app.execute("CREATE EXTENSION hypopg")
    try:
        before = postgres_app.snapshot()
        report = _explain(postgres_app, statement)
        after = postgres_app.snapshot()
    finally:
        postgres_app.execute("DROP EXTENSION hypopg")

    assert report.cost is not None
    assert report.cost_with_index is not None
    assert report.cost_with_index < report.cost / 2
    assert report.full_scans == [FullScan("books", ["author_id"])]
    assert after == before
