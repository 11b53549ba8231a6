"""Statements from traces are untrusted: nothing but a plain SELECT is planned.

Each layer is tested on its own: the allow-list refuses the statement before
any connection, and where a statement got past it, the read-only transaction
and the one-statement drivers would still stop it.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pymysql
import pytest

from perfkit.analysis.explain import explain_statement, mysql, postgres, sqlite
from perfkit.analysis.explain._session import connect, open_engine, parse_url

from .conftest import AppDb

REFUSED = [
    "INSERT INTO authors (id, name) VALUES (1000, 'x')",
    "UPDATE books SET year = 0",
    "DELETE FROM books",
    "DROP TABLE authors",
    "TRUNCATE books",
    "CREATE TABLE stolen (id int)",
    "SELECT 1; DROP TABLE authors",
    "SELECT * FROM books;\nDELETE FROM books",
    "WITH gone AS (DELETE FROM books RETURNING id) SELECT * FROM gone",
    "SELECT * FROM books WHERE id = 1 FOR UPDATE",
    "SELECT * FROM books FOR SHARE",
    "SELECT * FROM books LOCK IN SHARE MODE",
    "SELECT * INTO stolen FROM books",
    "SELECT * FROM books /*! FOR UPDATE */",
    "SELECT pg_sleep(5)",
    "SELECT * FROM books WHERE id = (SELECT pg_catalog.pg_sleep(5))",
    "SELECT sleep(5)",
    "SELECT benchmark(100000000, md5('x'))",
    "SELECT nextval('books_id_seq')",
    "SELECT setval('books_id_seq', 1)",
    "SELECT dblink_exec('dbname=test', 'DELETE FROM books')",
    "SELECT lo_import('/etc/passwd')",
    "SELECT pg_terminate_backend(1)",
    "SELECT query_to_xml('DELETE FROM books', true, true, '')",
    "SELECT @n := 1",
    "EXPLAIN ANALYZE SELECT * FROM books",
    "ANALYZE books",
    "VACUUM",
    "PRAGMA writable_schema = 1",
    "ATTACH DATABASE 'other.db' AS other",
    "LOCK TABLE books",
    "SET statement_timeout = 0",
    "COMMIT",
    "SELECT 'unterminated",
    "",
]


@pytest.mark.parametrize("statement", REFUSED)
def test_unsafe_statement_is_refused_and_never_run(
    app_db: AppDb, statement: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = app_db.snapshot()
    caplog.set_level(logging.INFO, logger="perfkit.analysis.explain")
    started = time.monotonic()

    report = explain_statement(app_db.url, statement)

    assert report is None
    assert time.monotonic() - started < 1  # no sleep ran
    assert "not running EXPLAIN" in caplog.text
    assert app_db.snapshot() == before


@pytest.mark.parametrize("statement", REFUSED[:8])
def test_refusal_needs_no_connection(statement: str) -> None:
    # Port 1 answers nobody: a refused statement never tries to connect.
    assert explain_statement("postgresql://u:p@127.0.0.1:1/x", statement) is None
    assert explain_statement("mysql://u:p@127.0.0.1:1/x", statement) is None


def test_backslash_quote_is_read_the_way_each_database_reads_it(app_db: AppDb) -> None:
    # MySQL reads \' as a quote inside the string: one harmless SELECT.
    # PostgreSQL and SQLite end the string there: a second statement follows.
    statement = "SELECT '\\'; DELETE FROM books; -- '"
    before = app_db.snapshot()

    report = explain_statement(app_db.url, statement)

    assert (report is not None) == (app_db.backend == "mysql")
    assert app_db.snapshot() == before


# --- the layers behind the allow-list ------------------------------------------


@pytest.fixture
def raw_connection(app_db: AppDb) -> Iterator[tuple[AppDb, Any]]:
    """A DBAPI connection opened as explain_statement opens it, read-only."""
    url, backend = parse_url(app_db.url)
    engine = open_engine(url, backend, 1500)
    connection = connect(engine, app_db.url)
    dbapi: Any = connection.connection.dbapi_connection
    if backend == "sqlite":
        sqlite.begin_read_only(dbapi, 1500)
    elif backend == "postgresql":
        postgres.begin_read_only(dbapi, 1500)
    else:
        mariadb = bool(getattr(connection.dialect, "is_mariadb", False))
        mysql.begin_read_only(dbapi, 1500, mariadb=mariadb)
    try:
        yield app_db, dbapi
    finally:
        dbapi.rollback()
        connection.close()
        engine.dispose()


DRIVER_ERRORS: dict[str, type[Exception]] = {
    "sqlite": sqlite3.Error,
    "postgresql": psycopg.Error,
    "mysql": pymysql.Error,
}


def _run(dbapi: Any, statement: str) -> None:
    cursor = dbapi.cursor()
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def _explain_raw(backend: str, dbapi: Any, statement: str) -> None:
    """EXPLAIN straight through a dialect module, past the allow-list."""
    if backend == "sqlite":
        sqlite.explain(dbapi, statement, {})
    elif backend == "postgresql":
        postgres.explain(dbapi, statement)
    else:
        mysql.explain(dbapi, statement, {})


def test_the_session_refuses_writes(raw_connection: tuple[AppDb, Any]) -> None:
    app_db, dbapi = raw_connection
    before = app_db.snapshot()

    with pytest.raises(DRIVER_ERRORS[app_db.backend], match=r"(?i)read.?only"):
        _run(dbapi, "DELETE FROM books")

    dbapi.rollback()
    assert app_db.snapshot() == before


def test_the_driver_refuses_a_second_statement(
    raw_connection: tuple[AppDb, Any],
) -> None:
    app_db, dbapi = raw_connection
    before = app_db.snapshot()
    second = "SELECT 1; DROP TABLE authors"

    with pytest.raises(DRIVER_ERRORS[app_db.backend]):
        _explain_raw(app_db.backend, dbapi, second)

    dbapi.rollback()
    assert app_db.snapshot() == before
