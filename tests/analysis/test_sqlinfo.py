"""sqlinfo: the SELECT allow-list, filter columns and placeholder refilling."""

from __future__ import annotations

import sqlite3

import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st

from perfkit.analysis.sqlinfo import (
    ColumnPredicate,
    filter_columns,
    is_select,
    neutral_literal,
    predicate_columns,
    refill_placeholders,
    rejection_reason,
    table_aliases,
)

# --- is_select ----------------------------------------------------------------

ALLOWED = [
    "SELECT 1",
    "select * from books where id = ?",
    "SELECT 1;",
    "  -- a comment\n  SELECT 1",
    "/* sqlcommenter='x' */ SELECT id FROM books",
    "WITH recent AS (SELECT * FROM books WHERE year > 2000) SELECT * FROM recent",
    "SELECT a FROM t UNION ALL SELECT b FROM u",
    "(SELECT 1) UNION (SELECT 2)",
    "SELECT count(*), max(year), coalesce(title, '') FROM books GROUP BY author_id",
    "SELECT * FROM books WHERE title = 'DROP TABLE books; --'",
    "SELECT * FROM books WHERE id IN (SELECT book_id FROM reviews WHERE rating > 3)",
    "SELECT * FROM books WHERE title LIKE %(pattern)s",
    "SELECT * FROM books WHERE data::text = :value",
    "SELECT books.id AS books_id FROM books WHERE books.id = $1",
]

REFUSED = {
    "INSERT INTO books VALUES (1)": "starts with INSERT",
    "update books set year = 1": "starts with UPDATE",
    "DELETE FROM books": "starts with DELETE",
    "DROP TABLE books": "starts with DROP",
    "SELECT 1; DROP TABLE x": "more than one statement",
    "SELECT 1; SELECT 2": "more than one statement",
    "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x": "contains DELETE",
    "WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM x": "contains UPDATE",
    "WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT 1": "contains INSERT",
    "SELECT * FROM t FOR UPDATE": "locking clause",
    "SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED": "locking clause",
    "SELECT * FROM t WHERE a IN (SELECT b FROM u FOR SHARE)": "locking clause",
    "SELECT a INTO new_table FROM t": "SELECT ... INTO",
    "SELECT pg_sleep(10)": "pg_sleep()",
    "SELECT * FROM t WHERE a = pg_catalog.pg_sleep_for('1 day')": "pg_sleep_for()",
    "SELECT nextval('s')": "nextval()",
    "SELECT setval('s', 1)": "setval()",
    "SELECT dblink('host=x', 'select 1')": "dblink()",
    "SELECT lo_export(1, '/tmp/x')": "lo_export()",
    "SELECT pg_terminate_backend(42)": "pg_terminate_backend()",
    "SELECT pg_advisory_lock(1)": "pg_advisory_lock()",
    "SELECT pg_read_file('/etc/passwd')": "pg_read_file()",
    "SELECT set_config('work_mem', '1GB', false)": "set_config()",
    "SELECT query_to_xml('DELETE FROM t', true, true, '')": "query_to_xml()",
    "SELECT SLEEP(3)": "sleep()",
    "SELECT 1 FROM t WHERE BENCHMARK(1000000, MD5('x'))": "benchmark()",
    "SELECT GET_LOCK('x', 10)": "get_lock()",
    "SELECT load_extension('evil.so')": "load_extension()",
    "SELECT * FROM t /*! FOR UPDATE */": "executable comment",
    "SELECT * FROM t /*M!100000 FOR UPDATE */": "executable comment",
    "SELECT 'unterminated": "unterminated",
    "SELECT 1 /* unterminated": "unterminated",
    "EXPLAIN ANALYZE SELECT 1": "starts with EXPLAIN",
    "VALUES (1)": "starts with VALUES",
    "SHOW TABLES": "starts with SHOW",
    "": "starts with nothing",
    "CALL do_it()": "starts with CALL",
}


@pytest.mark.parametrize("statement", ALLOWED)
def test_plain_selects_are_allowed(statement: str) -> None:
    assert rejection_reason(statement) is None
    assert is_select(statement) is True


@pytest.mark.parametrize(("statement", "reason"), REFUSED.items())
def test_anything_else_is_refused_with_a_reason(statement: str, reason: str) -> None:
    assert is_select(statement) is False
    assert reason in (rejection_reason(statement) or "")


@pytest.mark.parametrize(
    ("statement", "dialect", "allowed"),
    [
        # A backslash escapes the quote only in MySQL; elsewhere the string
        # ends and a second statement follows.
        ("SELECT '\\'; DROP TABLE t; --'", "mysql", True),
        ("SELECT '\\'; DROP TABLE t; --'", "postgresql", False),
        ("SELECT '\\'; DROP TABLE t; --'", "sqlite", False),
        ("SELECT '\\'; DROP TABLE t; --'", None, False),
        # E'' strings do take backslash escapes in PostgreSQL.
        ("SELECT E'\\'; DROP TABLE t; --'", "postgresql", True),
        # Dollar quoting exists only in PostgreSQL.
        ("SELECT $$;$$", "postgresql", True),
        ("SELECT $$;$$", "mysql", False),
        # '#' starts a comment only in MySQL.
        ("SELECT 1 # ; DROP TABLE t", "mysql", True),
        ("SELECT 1 # ; DROP TABLE t", "postgresql", False),
        # MySQL needs a space after '--' for a comment.
        ("SELECT 1 --1; DROP TABLE t", "mysql", False),
        # PostgreSQL comments nest.
        ("SELECT 1 /* a /* b */ ; DROP TABLE t; */", "postgresql", True),
        ("SELECT 1 /* a /* b */ ; DROP TABLE t; */", "mysql", False),
        ("SELECT @n := 1", "mysql", False),
    ],
)
def test_quoting_follows_the_dialect(
    statement: str, dialect: str | None, allowed: bool
) -> None:
    assert is_select(statement, dialect) is allowed


def test_unknown_dialect_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown SQL dialect 'oracle'"):
        is_select("SELECT 1", "oracle")


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_is_select_never_crashes_and_refuses_what_is_not_a_select(text: str) -> None:
    for dialect in (None, "postgresql", "mysql", "sqlite"):
        if is_select(text, dialect):
            parsed = [t for t in sqlglot.parse(_probe(text, dialect)) if t is not None]
            assert len(parsed) == 1


def _probe(text: str, dialect: str | None) -> str:
    return refill_placeholders(text, dialect or "postgresql")


# --- filter columns -------------------------------------------------------------

SQLALCHEMY_JOIN = """SELECT books_1.id AS books_1_id, books_1.title AS books_1_title,
authors_1.name AS authors_1_name
FROM books AS books_1 JOIN authors AS authors_1 ON authors_1.id = books_1.author_id
WHERE books_1.year >= %(year_1)s AND authors_1.country = %(country_1)s
AND books_1.isbn IN (%(isbn_1_1)s, %(isbn_1_2)s) ORDER BY books_1.id
 LIMIT %(param_1)s"""


def test_sqlalchemy_join_resolves_aliases_and_orders_columns() -> None:
    # books: isbn (equality with values), author_id (join), year (range);
    # authors: country (equality with a value), id (join).
    assert filter_columns(SQLALCHEMY_JOIN, "postgresql") == {
        "books": ["isbn", "author_id", "year"],
        "authors": ["country", "id"],
    }


def test_predicates_say_kind_and_source() -> None:
    assert predicate_columns(SQLALCHEMY_JOIN, "postgresql") == [
        ColumnPredicate("books", "year", "range", "filter"),
        ColumnPredicate("authors", "country", "equality", "filter"),
        ColumnPredicate("books", "isbn", "equality", "filter"),
        ColumnPredicate("authors", "id", "equality", "join"),
        ColumnPredicate("books", "author_id", "equality", "join"),
    ]


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("SELECT * FROM books WHERE author_id = ?", {"books": ["author_id"]}),
        (
            "SELECT * FROM books b WHERE b.published BETWEEN ? AND ? AND b.shelf = ?",
            {"books": ["shelf", "published"]},
        ),
        ("SELECT * FROM books WHERE deleted_at IS NULL", {"books": ["deleted_at"]}),
        ("SELECT * FROM books WHERE ? = author_id", {"books": ["author_id"]}),
        (
            "SELECT * FROM books WHERE (year < 3) AND (shelf = 1)",
            {"books": ["shelf", "year"]},
        ),
        # Neither an OR branch, nor a function of a column, nor LIKE, nor <>.
        ("SELECT * FROM books WHERE year = 1 OR shelf = 2", {}),
        ("SELECT * FROM books WHERE lower(title) = ?", {}),
        ("SELECT * FROM books WHERE title LIKE ?", {}),
        ("SELECT * FROM books WHERE year <> 3", {}),
        # An unqualified column with two tables in scope is ambiguous.
        ("SELECT * FROM books, authors WHERE name = ?", {}),
        # Implicit join in WHERE.
        (
            "SELECT * FROM books b, authors a WHERE a.id = b.author_id AND a.name = ?",
            {"authors": ["name", "id"], "books": ["author_id"]},
        ),
        # A subquery has its own aliases; a correlated column is a join.
        (
            "SELECT * FROM books AS b WHERE b.id IN (SELECT r.book_id\n"
            "FROM reviews AS r WHERE r.rating = ? AND r.book_id = b.id)",
            {"books": ["id"], "reviews": ["rating", "book_id"]},
        ),
        # A CTE is not a table.
        (
            "WITH x AS (SELECT * FROM books WHERE shelf = 1)\n"
            "SELECT * FROM x WHERE x.id = 2",
            {"books": ["shelf"]},
        ),
        ("SELECT * FROM books JOIN authors USING (id)", {}),
        ("DELETE FROM books WHERE id = 1", {}),
        ("not sql at all (", {}),
    ],
)
def test_filter_columns(statement: str, expected: dict[str, list[str]]) -> None:
    assert filter_columns(statement) == expected


def test_schema_qualified_and_quoted_tables() -> None:
    statement = 'SELECT * FROM public."Books" AS b WHERE b."Author" = $1'

    assert filter_columns(statement, "postgresql") == {"Books": ["Author"]}
    assert table_aliases(statement, "postgresql") == {"b": "Books", "Books": "Books"}


def test_table_aliases_map_every_alias() -> None:
    assert table_aliases(SQLALCHEMY_JOIN, "postgresql") == {
        "books_1": "books",
        "books": "books",
        "authors_1": "authors",
        "authors": "authors",
    }


# --- refilling placeholders -----------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "dialect", "expected"),
    [
        (
            "SELECT * FROM books WHERE author_id = ? AND title LIKE ? LIMIT ? OFFSET ?",
            "sqlite",
            "SELECT * FROM books WHERE author_id = '0' AND title LIKE '%'"
            " LIMIT 10 OFFSET 0",
        ),
        (
            "SELECT * FROM books WHERE author_id = %s AND title LIKE 'a%%'",
            "mysql",
            "SELECT * FROM books WHERE author_id = '0' AND title LIKE 'a%'",
        ),
        (
            "SELECT * FROM books WHERE year = %(year_1)s AND 5 %% 2 = 1",
            "postgresql",
            "SELECT * FROM books WHERE year = '0' AND 5 % 2 = 1",
        ),
        (
            # Without %s-style placeholders no driver formats the text: %% stays.
            "SELECT * FROM books WHERE title LIKE 'a%%' AND id = ?",
            "sqlite",
            "SELECT * FROM books WHERE title LIKE 'a%%' AND id = '0'",
        ),
        (
            "SELECT * FROM books WHERE id = $1 AND year = $2 AND data::text = :name",
            "postgresql",
            "SELECT * FROM books WHERE id = '0' AND year = '0' AND data::text = '0'",
        ),
        (
            "SELECT '?', \"?\", ':x', $$?$$ FROM t -- ?\nWHERE a = ? /* :b */",
            "postgresql",
            "SELECT '?', \"?\", ':x', $$?$$ FROM t -- ?\nWHERE a = '0' /* :b */",
        ),
        (
            "SELECT * FROM t WHERE a IN (?, ?, ?) AND b = -? AND c = (?)",
            "sqlite",
            "SELECT * FROM t WHERE a IN ('0', '0', '0') AND b = -'0' AND c = ('0')",
        ),
        (
            # With %s placeholders, ? and ?| are jsonb operators.
            "SELECT * FROM t WHERE tags ?| array['a'] AND doc ? 'k' AND id = %s",
            "postgresql",
            "SELECT * FROM t WHERE tags ?| array['a'] AND doc ? 'k' AND id = '0'",
        ),
        (
            "SELECT * FROM t WHERE a = ?1 AND b = ?2",
            "sqlite",
            "SELECT * FROM t WHERE a = '0' AND b = '0'",
        ),
        (
            "SELECT * FROM books WHERE id = ANY(%(ids)s)",
            "postgresql",
            "SELECT * FROM books WHERE id = ANY('{0}')",
        ),
        (
            # AGAINST takes only a string: parsed with quoted stand-ins.
            "SELECT * FROM books WHERE MATCH (title) AGAINST (%s) AND id = %s",
            "mysql",
            "SELECT * FROM books WHERE MATCH (title) AGAINST ('0') AND id = '0'",
        ),
        ("SELECT 1", "mysql", "SELECT 1"),
    ],
)
def test_refill_placeholders(statement: str, dialect: str, expected: str) -> None:
    assert refill_placeholders(statement, dialect) == expected


def test_refill_uses_column_literals_through_aliases() -> None:
    literals = {
        "books": {"author_id": "0", "title": "''", "published": "'2000-01-01'"},
        "authors": {"active": "false"},
    }

    refilled = refill_placeholders(
        "SELECT * FROM books AS b JOIN authors a ON a.id = b.author_id\n"
        "WHERE b.author_id = %(a)s AND %(t)s = b.title AND b.published > %(p)s\n"
        "AND active = %(x)s AND b.published BETWEEN %(p1)s AND %(p2)s",
        "postgresql",
        column_literals=literals,
    )

    assert refilled == (
        "SELECT * FROM books AS b JOIN authors a ON a.id = b.author_id\n"
        "WHERE b.author_id = 0 AND '' = b.title AND b.published > '2000-01-01'\n"
        "AND active = false AND b.published BETWEEN '2000-01-01' AND '2000-01-01'"
    )


def test_refill_without_a_parse_uses_the_keyword_before() -> None:
    # Not parseable (a trailing AND), so no context beyond the keyword.
    assert refill_placeholders("SELECT * FROM t WHERE a = ? AND LIMIT ?", "sqlite") == (
        "SELECT * FROM t WHERE a = '0' AND LIMIT 10"
    )


def test_refilled_statement_is_plannable_by_sqlite() -> None:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT, n INT)")
    refilled = refill_placeholders(
        "SELECT books.id AS books_id FROM books \nWHERE books.title = :title_1 "
        "AND books.n IN (:n_1_1, :n_1_2) LIMIT :param_1 OFFSET :param_2",
        "sqlite",
    )

    rows = connection.execute(f"EXPLAIN QUERY PLAN {refilled}").fetchall()

    assert [row[3] for row in rows] == ["SCAN books"]


PLACEHOLDERS = ["?", "%s", "%(p)s", ":p", "$1"]


@given(
    st.sampled_from(PLACEHOLDERS),
    st.lists(st.sampled_from(["P", "1", "'x'", "a", "b.c"]), min_size=1, max_size=6),
)
def test_refill_leaves_no_placeholder(placeholder: str, values: list[str]) -> None:
    # One placeholder style a statement, as every driver has.
    conditions = " AND ".join(
        f"c{i} = {placeholder if v == 'P' else v}" for i, v in enumerate(values)
    )
    statement = f"SELECT * FROM t AS b WHERE {conditions}"

    for dialect in ("postgresql", "mysql", "sqlite"):
        refilled = refill_placeholders(statement, dialect)
        assert placeholder not in refilled
        assert refilled.count("'0'") == values.count("P")
        assert is_select(refilled, dialect)


@pytest.mark.parametrize(
    ("type_name", "dialect", "literal"),
    [
        ("INTEGER", "sqlite", "0"),
        ("int(11) unsigned", "mysql", "0"),
        ("BIGINT", "postgresql", "0"),
        ("NUMERIC(10, 2)", "postgresql", "0"),
        ("DOUBLE PRECISION", "postgresql", "0"),
        ("VARCHAR(200)", "mysql", "''"),
        ("TEXT", "sqlite", "''"),
        ("character varying", "postgresql", "''"),
        ("BOOLEAN", "postgresql", "false"),
        ("BOOLEAN", "sqlite", "0"),
        ("DATE", "mysql", "'2000-01-01'"),
        ("TIMESTAMP WITHOUT TIME ZONE", "postgresql", "'2000-01-01 00:00:00'"),
        ("DATETIME", "mysql", "'2000-01-01 00:00:00'"),
        ("TIME", "postgresql", "'00:00:00'"),
        ("INTERVAL", "postgresql", "'0'"),
        ("UUID", "postgresql", "'00000000-0000-0000-0000-000000000000'"),
        ("JSONB", "postgresql", "'{}'"),
        ("INTEGER[]", "postgresql", "'{}'"),
        ("BYTEA", "postgresql", "''"),
        ("POINT", "postgresql", "'0'"),
        ("geometry(Point,4326)", "postgresql", "'0'"),
    ],
)
def test_neutral_literal(type_name: str, dialect: str, literal: str) -> None:
    assert neutral_literal(type_name, dialect) == literal


def test_a_statement_nested_too_deeply_for_the_parser_is_refused() -> None:
    # sqlglot parses recursively; thousands of parentheses exhaust the stack.
    deep = "SELECT " + "(" * 3000 + "1" + ")" * 3000 + " FROM t WHERE e = ?"
    for dialect in (None, "postgresql", "mysql", "sqlite"):
        assert rejection_reason(deep, dialect) is not None
        assert "nested too deeply" in str(rejection_reason(deep, dialect))
        assert predicate_columns(deep, dialect) == []
        assert table_aliases(deep, dialect) == {}
        # Refilled from the keyword before each placeholder, as unparsed SQL.
        assert refill_placeholders(deep, dialect or "postgresql").endswith("e = '0'")
