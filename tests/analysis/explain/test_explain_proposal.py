"""Index proposals: names, column order, existing indexes, inert migrations."""

from __future__ import annotations

import ast

import pytest
import sqlalchemy as sa

from perfkit.analysis.explain._proposal import (
    already_indexed,
    build,
    index_columns,
    index_name,
)
from perfkit.analysis.explain._session import TableInfo
from perfkit.analysis.sqlinfo import ColumnPredicate


def _dialect(url: str) -> sa.Dialect:
    """A dialect without a connection: create_engine does not connect."""
    return sa.create_engine(url).dialect


def _books() -> TableInfo:
    return TableInfo(
        "books",
        literals={"id": "0", "author_id": "0", "Title": "''", "year": "0"},
        indexes=[["id"], ["year", "id"]],
        prefix_only={"Title"},
    )


def test_index_columns_put_equalities_first_and_one_range() -> None:
    predicates = [
        ColumnPredicate("books", "year", "range", "filter"),
        ColumnPredicate("books", "id", "range", "filter"),
        ColumnPredicate("books", "title", "equality", "filter"),
        ColumnPredicate("books", "author_id", "equality", "join"),
        ColumnPredicate("authors", "name", "equality", "filter"),
    ]

    assert index_columns(_books(), predicates, []) == ["Title", "year"]


def test_index_columns_fall_back_to_join_then_automatic_columns() -> None:
    join = [ColumnPredicate("books", "author_id", "equality", "join")]

    assert index_columns(_books(), join, ["year"]) == ["author_id"]
    assert index_columns(_books(), [], ["year"]) == ["year"]
    assert index_columns(_books(), [], ["not_a_column"]) == []


@pytest.mark.parametrize(
    ("columns", "unordered", "expected"),
    [
        (["year"], False, True),
        (["year", "id"], False, True),
        (["id", "year"], False, False),
        (["id", "year"], True, True),
        (["YEAR"], False, True),
        (["author_id"], False, False),
        (["id"], False, True),
    ],
)
def test_already_indexed_compares_leading_columns(
    columns: list[str], unordered: bool, expected: bool
) -> None:
    assert already_indexed(_books(), columns, unordered=unordered) is expected


def test_long_index_names_are_cut_to_63_characters_with_a_hash() -> None:
    columns = ["a_rather_long_column_name", "another_rather_long_column"]

    name = index_name("customer_order_line_items", columns)

    assert len(name) == 63
    assert name.startswith("ix_customer_order_line_items_a_rather_long_column_name_")
    assert name != index_name("customer_order_line_items", [*columns, "x"])
    assert index_name("books", ["author_id"]) == "ix_books_author_id"


def test_mysql_indexes_text_columns_by_prefix() -> None:
    proposal = build(_books(), ["Title", "year"], _dialect("mysql+pymysql://"))

    assert proposal.create_sql == (
        "CREATE INDEX ix_books_title_year ON books (`Title`(191), year);"
    )
    assert proposal.drop_sql == "DROP INDEX ix_books_title_year ON books;"
    assert 'mysql_length={"Title": 191}' in proposal.migration_text


def test_postgresql_migration_builds_concurrently_outside_a_transaction() -> None:
    proposal = build(_books(), ["author_id"], _dialect("postgresql+psycopg://"))

    assert (
        proposal.create_sql == "CREATE INDEX ix_books_author_id ON books (author_id);"
    )
    assert proposal.drop_sql == "DROP INDEX ix_books_author_id;"
    assert "CREATE INDEX CONCURRENTLY" in proposal.advice
    assert proposal.migration_text.count("autocommit_block()") == 2
    assert proposal.migration_text.count("postgresql_concurrently=True") == 2


def test_migration_file_is_complete() -> None:
    proposal = build(_books(), ["author_id"], _dialect("sqlite://"))
    tree = ast.parse(proposal.migration_text)

    assigned = {
        target.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert functions == ["upgrade", "downgrade"]
    assert assigned == {
        "revision": proposal.migration_filename.split("_", 1)[0],
        "down_revision": None,
        "branch_labels": None,
        "depends_on": None,
    }
    assert len(assigned["revision"]) == 12
    assert proposal.migration_filename.endswith("_add_ix_books_author_id.py")
    assert 'op.create_index("ix_books_author_id", "books", ["author_id"]' in (
        proposal.migration_text
    )
    assert 'op.drop_index("ix_books_author_id", table_name="books")' in (
        proposal.migration_text
    )
    docstring = ast.get_docstring(tree) or ""
    assert docstring.startswith("Add index ix_books_author_id on books.")
    assert f"Revision ID: {assigned['revision']}" in docstring
    assert "# Set this to your current head revision" in proposal.migration_text


def test_hostile_names_stay_inert_in_the_migration() -> None:
    # Names come from the database, but a table can be called anything.
    evil = 'x"""\nimport os; os.system("echo pwned")\n"""'
    table = TableInfo(evil, literals={"c')\nimport os#": "0"})

    proposal = build(table, ["c')\nimport os#"], _dialect("postgresql+psycopg://"))
    tree = ast.parse(proposal.migration_text)

    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert [ast.unparse(n) for n in imports] == ["from alembic import op"]
    calls = [ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)]
    block = ["op.get_context().autocommit_block", "op.get_context"]
    assert sorted(calls) == sorted([*block, "op.create_index", *block, "op.drop_index"])
    assert "\n" not in proposal.migration_filename
    assert proposal.migration_filename.endswith(".py")
