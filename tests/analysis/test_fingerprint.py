from __future__ import annotations

import logging
import time

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfkit.analysis.fingerprint import (
    MAX_PARSED_CHARS,
    NON_SQL,
    batch_rewrite,
    endpoint_template,
    fingerprint_statements,
    normalise_sql,
    scan_sql,
    sql_fingerprint,
    sqlglot_dialect,
    statement_info,
    template_urls,
    url_template,
)

# What SQLAlchemy's instrumentation records: compiled SQL over several lines,
# column aliases, driver placeholders, never the values.
SQLALCHEMY_LAZY_LOAD = (
    "SELECT order_items.id AS order_items_id, order_items.order_id AS "
    "order_items_order_id, order_items.quantity AS order_items_quantity \n"
    "FROM order_items \nWHERE ? = order_items.order_id"
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            SQLALCHEMY_LAZY_LOAD,
            "SELECT order_items.id AS order_items_id, order_items.order_id AS "
            "order_items_order_id, order_items.quantity AS order_items_quantity "
            "FROM order_items WHERE ? = order_items.order_id",
        ),
        ("SELECT * FROM t WHERE id = 42", "SELECT * FROM t WHERE id = ?"),
        ("select * from t where name = 'O''Brien'", "SELECT * FROM t WHERE name = ?"),
        (
            "SELECT * FROM t WHERE a = -3.5e2 AND b = TRUE",
            "SELECT * FROM t WHERE a = ? AND b = ?",
        ),
        (
            "SELECT * FROM t WHERE x = :name_1 AND y = $1 AND z = %(p)s AND w = %s",
            "SELECT * FROM t WHERE x = ? AND y = ? AND z = ? AND w = ?",
        ),
        # sqlcommenter's comment, with quotes inside, and a line comment.
        (
            "SELECT * FROM t WHERE id = ? /*db_driver='psycopg',"
            "traceparent='00-4bf9-00f0-01'*/ -- trailing",
            "SELECT * FROM t WHERE id = ?",
        ),
        # Comment markers and quotes inside a string are data, not syntax.
        ("SELECT * FROM t WHERE s = 'a -- b /* c'", "SELECT * FROM t WHERE s = ?"),
        ("SELECT * FROM t WHERE id IN (1, 2, 3)", "SELECT * FROM t WHERE id IN (?)"),
        (
            "SELECT * FROM t WHERE (a, b) IN ((1, 2), (3, 4))",
            "SELECT * FROM t WHERE (a, b) IN ((?, ?))",
        ),
        (
            "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')",
            "INSERT INTO t (a, b) VALUES (?, ?)",
        ),
        ("SELECT * FROM t LIMIT 10 OFFSET 20", "SELECT * FROM t LIMIT ? OFFSET ?"),
        # A subquery is not a value list and stays.
        (
            "SELECT x FROM t WHERE y IN (SELECT z FROM u WHERE k = 5)",
            "SELECT x FROM t WHERE y IN (SELECT z FROM u WHERE k = ?)",
        ),
        # Identifiers with digits keep them.
        (
            "SELECT t1.c2 FROM t1 WHERE t1.c3 = 7",
            "SELECT t1.c2 FROM t1 WHERE t1.c3 = ?",
        ),
    ],
)
def test_normalise_sql(raw: str, expected: str) -> None:
    assert normalise_sql(raw) == expected


def test_postgres_cast_is_not_a_placeholder() -> None:
    assert normalise_sql("SELECT a::int FROM t WHERE b = 1", "postgres") == (
        "SELECT CAST(a AS INT) FROM t WHERE b = ?"
    )


def test_expanding_in_lists_of_any_length_share_one_fingerprint() -> None:
    base = "SELECT products.id FROM products WHERE products.id IN ({})"
    prints = {sql_fingerprint(base.format(", ".join("?" * n))) for n in (1, 2, 5, 50)}
    literal = sql_fingerprint(base.format("3, 9"))
    assert prints == {literal}


def test_fingerprint_separates_different_statements() -> None:
    assert sql_fingerprint("SELECT a FROM t WHERE x = ?") != sql_fingerprint(
        "SELECT a FROM t WHERE y = ?"
    )
    assert sql_fingerprint("SELECT a FROM t") != sql_fingerprint("SELECT a FROM u")


def test_the_placeholder_style_does_not_change_the_fingerprint() -> None:
    styles = ["?", "%s", "%(id_1)s", ":id_1", "$1", "17", "'17'"]
    prints = {sql_fingerprint(f"SELECT a FROM t WHERE id = {s}") for s in styles}
    assert len(prints) == 1


def test_scan_keeps_inline_values_apart_from_the_key() -> None:
    first = scan_sql("SELECT * FROM t WHERE id = 5 /* app */")
    second = scan_sql("SELECT * FROM t WHERE id = 6")
    assert first.key == second.key == "SELECT * FROM t WHERE id = ?"
    assert first.has_literals
    assert first.params == "SELECT * FROM t WHERE id = 5"
    assert first.params != second.params
    parameterised = scan_sql("SELECT * FROM t WHERE id = %s")
    assert not parameterised.has_literals
    assert parameterised.params == "SELECT * FROM t WHERE id = ?"


def test_statement_info_reads_operation_and_tables() -> None:
    info = statement_info("SELECT a.x FROM a JOIN b ON a.id = b.a_id WHERE b.y = ?")
    assert info.operation == "SELECT"
    assert info.tables == ("a", "b")
    assert info.parsed
    assert statement_info("UPDATE t SET a = ? WHERE id = ?").operation == "UPDATE"
    assert statement_info("DELETE FROM t WHERE id = ?").operation == "DELETE"


def test_unparsable_statement_falls_back_to_the_scanned_text() -> None:
    info = statement_info("FROBNICATE ((( ?")
    assert not info.parsed
    assert info.normalised == "FROBNICATE ((( ?"
    assert info.operation == "FROBNICATE"
    assert info.fingerprint == statement_info("FROBNICATE ((( ?").fingerprint


@given(
    st.lists(st.integers(min_value=-(10**9), max_value=10**9), min_size=1, max_size=30)
)
def test_values_never_change_the_fingerprint(values: list[int]) -> None:
    listed = ", ".join(map(str, values))
    raw = f"SELECT * FROM t WHERE a = {values[0]} AND b IN ({listed})"
    assert normalise_sql(raw) == "SELECT * FROM t WHERE a = ? AND b IN (?)"


@given(st.text(alphabet=st.characters(blacklist_characters="'\x00"), max_size=20))
def test_string_contents_never_leak_into_the_normalised_text(text: str) -> None:
    normalised = normalise_sql(f"SELECT * FROM t WHERE s = '{text}' AND k = 1")
    assert normalised == "SELECT * FROM t WHERE s = ? AND k = ?"


@pytest.mark.parametrize(
    ("statement", "batched", "column"),
    [
        (
            "SELECT books.id FROM books WHERE books.author_id = ?",
            "SELECT books.id FROM books WHERE books.author_id IN (?, ?, ...)",
            "books.author_id",
        ),
        (
            "SELECT i.id FROM order_items AS i WHERE ? = i.order_id",
            "SELECT i.id FROM order_items AS i WHERE i.order_id IN (?, ?, ...)",
            "i.order_id",
        ),
    ],
)
def test_batch_rewrite(statement: str, batched: str, column: str) -> None:
    batch = batch_rewrite(statement)
    assert batch is not None
    assert (batch.statement, batch.column) == (batched, column)


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM t WHERE a = ? AND b = ?",  # which one varies is unknown
        "SELECT * FROM t WHERE a = ? LIMIT ?",  # batching changes LIMIT's meaning
        "SELECT * FROM t",
    ],
)
def test_batch_rewrite_declines(statement: str) -> None:
    assert batch_rewrite(statement) is None


def test_fingerprint_statements_handles_missing_and_repeated_values() -> None:
    statements = pd.Series(
        ["SELECT * FROM t WHERE id = 1", None, "SELECT * FROM t WHERE id = 2"],
        dtype="string",
        index=[10, 11, 12],
    )
    out = fingerprint_statements(statements, pd.Series(["sqlite", None, "sqlite"]))
    assert list(out.fingerprint.index) == [10, 11, 12]
    fingerprint = out.fingerprint.tolist()
    assert fingerprint[0] == fingerprint[2] == sql_fingerprint(statements[10])
    assert pd.isna(fingerprint[1])
    # Inline values give parameter hashes: different values, different hashes.
    assert out.params.notna().tolist() == [True, False, True]
    assert out.params[10] != out.params[12]
    assert out.statements.loc[fingerprint[0]].tolist() == [
        "SELECT * FROM t WHERE id = ?",
        "SELECT",
        "t",
    ]


def test_parameterised_statements_have_no_parameter_hash() -> None:
    statements = pd.Series(["SELECT * FROM t WHERE id = ?"] * 2, dtype="string")
    out = fingerprint_statements(statements)
    assert out.params.isna().all()
    assert out.fingerprint.nunique() == 1


def test_a_literal_beside_a_placeholder_does_not_make_the_values_known() -> None:
    # Django writes LIMIT 21 inline and the id as %s: the text shows 21 only.
    django = 'SELECT "a"."id" FROM "a" WHERE "a"."id" = %s LIMIT 21'
    out = fingerprint_statements(pd.Series([django] * 2, dtype="string"))
    assert out.params.isna().all()
    scan = scan_sql(django)
    assert (scan.has_literals, scan.has_placeholders) == (True, True)
    assert not scan.values_known
    assert scan_sql("SELECT * FROM t WHERE id = 3").values_known


@pytest.mark.parametrize(
    ("url", "template"),
    [
        (
            "https://user:secret@api.example.com/users/42/orders?page=2#top",
            "https://api.example.com/users/{id}/orders",
        ),
        (
            "https://h/x?api_key=1&X-Amz-Signature=3&access_token=4",
            "https://h/x",
        ),
        (
            "http://127.0.0.1:8081/stock/550e8400-e29b-41d4-a716-446655440000",
            "http://127.0.0.1:8081/stock/{uuid}",
        ),
        ("http://h/blobs/3f2a9c01b7de44a1", "http://h/blobs/{hash}"),
        ("http://h/t/Ab3dEfGh1jKlMn0pQrStUv", "http://h/t/{token}"),
        ("http://h/prices/SKU-000042", "http://h/prices/{id}"),
        ("http://h/oauth2/v1/items/x-12", "http://h/oauth2/v1/items/x-12"),
        ("/stock/17", "/stock/{id}"),
    ],
)
def test_url_template(url: str, template: str) -> None:
    assert url_template(url) == template


@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["http://a", "https://u:p@b:8443", "http://10.0.0.1:8081", ""]
            ),
            st.lists(
                st.one_of(
                    st.integers(0, 10**6).map(str),
                    st.sampled_from(
                        [
                            "users",
                            "v2",
                            "x-1",
                            "deadbeef1234ab",
                            "DEADBEEFCAFE",
                            "550e8400-e29b-41d4-a716-446655440000",
                            "SKU-000042",
                            "ord_12345",
                            "Ab3dEfGh1jKlMn0pQrStUv",
                            "12345678901234",
                            "",
                        ]
                    ),
                ),
                max_size=4,
            ),
            st.sampled_from(["", "?q=1", "?id=7#f"]),
        ),
        max_size=20,
    )
)
def test_template_urls_matches_url_template_on_each_value(
    parts: list[tuple[str, list[str], str]],
) -> None:
    urls = [f"{base}/{'/'.join(path)}{query}" for base, path, query in parts]
    column = pd.Series([*urls, None], dtype="string")
    got = template_urls(column)
    assert got.iloc[:-1].tolist() == [url_template(u) for u in urls]
    assert got.isna().iloc[-1]


# --- Values in every quoting, and statements that are not SQL --------------------


@pytest.mark.parametrize(
    ("raw", "dialect", "expected"),
    [
        # MySQL escapes a quote with a backslash: the scan once ended the
        # string there and let the next one's contents through.
        (
            r"SELECT * FROM u WHERE name = 'O\'Brien' AND email = 'bob@example.com'",
            "mysql",
            "SELECT * FROM u WHERE name = ? AND email = ?",
        ),
        # The same text from a database of unknown dialect.
        (
            r"SELECT * FROM u WHERE name = 'O\'Brien' AND email = 'bob@example.com'",
            None,
            "SELECT * FROM u WHERE name = ? AND email = ?",
        ),
        # In standard SQL a backslash is an ordinary character.
        (r"SELECT * FROM f WHERE p = 'C:\' AND o = 'bob'", None, None),
        # MySQL's double-quoted strings.
        (
            'SELECT * FROM u WHERE email = "bob@example.com"',
            "mysql",
            "SELECT * FROM u WHERE email = ?",
        ),
        # PostgreSQL's dollar-quoted and escape strings.
        ("SELECT * FROM t WHERE b = $$bob secret$$", "postgres", None),
        ("SELECT * FROM t WHERE b = $tag$bob $$ secret$tag$", "postgres", None),
        (r"SELECT * FROM t WHERE b = E'bob\' secret'", "postgres", None),
        (
            "SELECT * FROM t WHERE b = U&'bob'",
            "postgres",
            "SELECT * FROM t WHERE b = ?",
        ),
        # A quote left open: everything from it on is a value.
        ("SELECT * FROM t WHERE b = 'bob secret", None, "SELECT * FROM t WHERE b = ?"),
    ],
)
def test_values_in_every_quoting_are_redacted(
    raw: str, dialect: str | None, expected: str | None
) -> None:
    normalised = normalise_sql(raw, dialect)
    for secret in ("bob", "secret", "Brien", "example.com"):
        assert secret not in normalised
    if expected is not None:
        assert normalised == expected
    else:
        assert normalised.endswith("= ?")


@pytest.mark.parametrize(
    ("raw", "dialect", "expected"),
    [
        ("AUTH hunter2", NON_SQL, "AUTH ?"),
        ("SET session:bob supersecret", NON_SQL, "SET ?"),
        ("GET user:42", NON_SQL, "GET ?"),
        ("PING", NON_SQL, "PING"),
        # Read as SQL, these are an alias and a column: not statements.
        ("AUTH hunter2", None, "AUTH ?"),
        ("HGETALL user_bob", "postgres", "HGETALL ?"),
        # JSON documents (MongoDB, Elasticsearch) keep their keys only.
        (
            '{"find": "users", "filter": {"email": "bob@x.com", "age": 42}}',
            NON_SQL,
            '{"find": ?, "filter": {"email": ?, "age": ?}}',
        ),
        (
            '{"query":{"match":{"email":"bob@x.com"}}}',
            None,
            '{"query":{"match":{"email":?}}}',
        ),
    ],
)
def test_commands_of_other_databases_keep_only_their_shape(
    raw: str, dialect: str | None, expected: str
) -> None:
    info = statement_info(scan_sql(raw, dialect).key, dialect)
    assert info.normalised == expected
    assert info.tables == ()


def test_other_databases_are_told_apart_from_sql_by_db_system() -> None:
    assert sqlglot_dialect("redis") == NON_SQL
    assert sqlglot_dialect("mongodb") == NON_SQL
    assert sqlglot_dialect("postgresql") == "postgres"
    assert sqlglot_dialect("something_else") is None


def test_sqlglot_never_logs_a_statement(caplog: pytest.LogCaptureFixture) -> None:
    # sqlglot warns that it falls back to a Command, quoting the statement.
    with caplog.at_level(logging.DEBUG):
        normalise_sql("SET session:unlogged_secret unlogged_secret_value")
    assert "unlogged_secret" not in caplog.text


def test_a_giant_statement_is_not_parsed_and_is_shown_cut() -> None:
    giant = "SELECT " + " + ".join(f"c{i}" for i in range(10_000)) + " FROM t"
    started = time.perf_counter()
    info = statement_info(scan_sql(giant).key)
    assert time.perf_counter() - started < 1.0
    assert not info.parsed
    assert info.normalised == giant[:MAX_PARSED_CHARS] + " …"
    # The fingerprint still tells it from a statement that starts the same.
    other = statement_info(scan_sql(giant + " WHERE x = ?").key)
    assert other.fingerprint != info.fingerprint


@pytest.mark.parametrize(
    ("name", "template"),
    [
        ("GET /users/42/orders?token=abc", "GET /users/{id}/orders"),
        ("/orders/550e8400-e29b-41d4-a716-446655440000", "/orders/{uuid}"),
        ("GET https://u:pw@h/x/7?t=1", "GET https://h/x/{id}"),
        # Names that are no path stay as they are.
        ("GET", "GET"),
        ("HTTP GET", "HTTP GET"),
        ("shop.Orders/Get", "shop.Orders/Get"),
        ("GET /books/{book_id}", "GET /books/{book_id}"),
    ],
)
def test_endpoint_template(name: str, template: str) -> None:
    assert endpoint_template(name) == template
